import type { Knex } from 'knex';
import { ProductStoreError } from '../errors.js';
import type {
  Category,
  CreateProductInput,
  CreateReviewInput,
  ListProductsQuery,
  Product,
  Review,
  SearchProductsQuery,
  UpdateProductInput,
} from '../schemas.js';

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  currency: string;
  status: 'active' | 'inactive';
  image_urls: string[];
  rating_avg: string | null;
  rating_count: number;
  created_at: Date;
  updated_at: Date;
}

interface ReviewRow {
  id: string;
  product_id: string;
  user_id: string;
  rating: number;
  body: string;
  created_at: Date;
}

const PRODUCT_COLUMNS = ['id', 'sku', 'name', 'description', 'category', 'price_cents', 'currency', 'status', 'image_urls', 'rating_avg', 'rating_count', 'created_at', 'updated_at'];

export function toProduct(r: ProductRow): Product {
  return {
    id: r.id,
    sku: r.sku,
    name: r.name,
    description: r.description,
    category: r.category,
    priceCents: r.price_cents,
    currency: r.currency,
    status: r.status,
    imageUrls: r.image_urls,
    rating: { average: r.rating_avg === null ? null : Number(r.rating_avg), count: r.rating_count },
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function toReview(r: ReviewRow): Review {
  return { id: r.id, productId: r.product_id, userId: r.user_id, rating: r.rating, body: r.body, createdAt: r.created_at.toISOString() };
}

const DEFAULT_ORDER: Record<ListProductsQuery['sort'], 'asc' | 'desc'> = { price: 'asc', name: 'asc', newest: 'desc', rating: 'desc' };

/** Maps Postgres constraint violations to domain errors; anything else is a real fault and propagates. */
function mapPgError(err: unknown): never {
  const e = err as { code?: string; constraint?: string };
  if (e.code === '23505' && e.constraint === 'products_sku_unique') throw new ProductStoreError('sku_taken', 'a product with this sku already exists');
  if (e.code === '23505' && e.constraint === 'reviews_one_per_user') throw new ProductStoreError('duplicate_review', 'this user has already reviewed this product');
  if (e.code === '23503' && e.constraint === 'products_category_foreign') throw new ProductStoreError('unknown_category', 'no such category');
  throw err;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** All SQL of the product service. Every value is a bound parameter; identifiers come from whitelists. */
export class ProductStore {
  constructor(private readonly db: Knex) {}

  async getById(id: string): Promise<Product | undefined> {
    const row = (await this.db('products').first(PRODUCT_COLUMNS).where({ id })) as ProductRow | undefined;
    return row ? toProduct(row) : undefined;
  }

  async getByIds(ids: string[]): Promise<Map<string, Product>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.db('products').select(PRODUCT_COLUMNS).whereIn('id', ids)) as ProductRow[];
    return new Map(rows.map((r) => [r.id, toProduct(r)]));
  }

  async list(q: ListProductsQuery): Promise<Page<Product>> {
    const filtered = () => {
      const b = this.db('products');
      if (q.status !== 'all') b.where('status', q.status);
      if (q.category !== undefined) b.where('category', q.category);
      if (q.minPrice !== undefined) b.where('price_cents', '>=', q.minPrice);
      if (q.maxPrice !== undefined) b.where('price_cents', '<=', q.maxPrice);
      return b;
    };
    const order = q.order ?? DEFAULT_ORDER[q.sort];
    const page = filtered().select(PRODUCT_COLUMNS).limit(q.limit).offset(q.offset);
    if (q.sort === 'price') page.orderBy('price_cents', order);
    else if (q.sort === 'name') page.orderBy('name', order);
    else if (q.sort === 'newest') page.orderBy('created_at', order);
    else page.orderByRaw(`rating_avg ${order === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}, rating_count ${order === 'desc' ? 'DESC' : 'ASC'}`);
    page.orderBy('id', 'asc'); // stable pages
    const [rows, count] = await Promise.all([page, filtered().count<{ count: string }[]>('* as count')]);
    return { items: (rows as ProductRow[]).map(toProduct), total: Number(count[0]?.count ?? 0) };
  }

  async search(q: SearchProductsQuery): Promise<Page<Product>> {
    const filtered = () => {
      const b = this.db('products').whereRaw(`search @@ websearch_to_tsquery('english', ?)`, [q.q]);
      if (q.status !== 'all') b.where('status', q.status);
      if (q.category !== undefined) b.where('category', q.category);
      return b;
    };
    const page = filtered()
      .select(PRODUCT_COLUMNS)
      .orderByRaw(`ts_rank(search, websearch_to_tsquery('english', ?)) DESC, id ASC`, [q.q])
      .limit(q.limit)
      .offset(q.offset);
    const [rows, count] = await Promise.all([page, filtered().count<{ count: string }[]>('* as count')]);
    return { items: (rows as ProductRow[]).map(toProduct), total: Number(count[0]?.count ?? 0) };
  }

  async create(input: CreateProductInput): Promise<Product> {
    try {
      const [row] = (await this.db('products')
        .insert({
          sku: input.sku,
          name: input.name,
          description: input.description,
          category: input.category,
          price_cents: input.priceCents,
          currency: input.currency,
          status: input.status,
          image_urls: JSON.stringify(input.imageUrls),
        })
        .returning(PRODUCT_COLUMNS)) as ProductRow[];
      return toProduct(row as ProductRow);
    } catch (err) {
      mapPgError(err);
    }
  }

  /** Applies the given fields; undefined if there is no such product. */
  async update(id: string, patch: UpdateProductInput): Promise<Product | undefined> {
    const changes: Record<string, unknown> = { updated_at: this.db.fn.now() };
    if (patch.sku !== undefined) changes.sku = patch.sku;
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.category !== undefined) changes.category = patch.category;
    if (patch.priceCents !== undefined) changes.price_cents = patch.priceCents;
    if (patch.currency !== undefined) changes.currency = patch.currency;
    if (patch.status !== undefined) changes.status = patch.status;
    if (patch.imageUrls !== undefined) changes.image_urls = JSON.stringify(patch.imageUrls);
    try {
      const [row] = (await this.db('products').where({ id }).update(changes).returning(PRODUCT_COLUMNS)) as ProductRow[];
      return row ? toProduct(row) : undefined;
    } catch (err) {
      mapPgError(err);
    }
  }

  /** True if a product was deleted (its reviews go with it). */
  async delete(id: string): Promise<boolean> {
    return (await this.db('products').where({ id }).delete()) > 0;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.db('products').where({ id }).first('id')) !== undefined;
  }

  async listCategories(): Promise<Category[]> {
    const rows = (await this.db('categories as c')
      .leftJoin('products as p', function () {
        this.on('p.category', '=', 'c.slug').andOnVal('p.status', '=', 'active');
      })
      .groupBy('c.slug', 'c.name', 'c.description')
      .orderBy('c.name')
      .select('c.slug', 'c.name', 'c.description')
      .count<{ slug: string; name: string; description: string; count: string }[]>('p.id as count')) as {
      slug: string;
      name: string;
      description: string;
      count: string;
    }[];
    return rows.map((r) => ({ slug: r.slug, name: r.name, description: r.description, productCount: Number(r.count) }));
  }

  /**
   * Adds a review and refreshes the product's rating in one transaction. The product row is locked
   * first, so concurrent reviews of one product serialise and the aggregate stays exact.
   * Returns undefined if there is no such product.
   */
  async createReview(productId: string, userId: string, input: CreateReviewInput): Promise<Review | undefined> {
    try {
      return await this.db.transaction(async (trx) => {
        const product = await trx('products').where({ id: productId }).forUpdate().first('id');
        if (!product) return undefined;
        const [row] = (await trx('reviews')
          .insert({ product_id: productId, user_id: userId, rating: input.rating, body: input.body })
          .returning(['id', 'product_id', 'user_id', 'rating', 'body', 'created_at'])) as ReviewRow[];
        await trx.raw(
          `UPDATE products SET rating_avg = agg.avg, rating_count = agg.count
             FROM (SELECT round(avg(rating), 2) AS avg, count(*)::int AS count FROM reviews WHERE product_id = ?) agg
            WHERE id = ?`,
          [productId, productId],
        );
        return toReview(row as ReviewRow);
      });
    } catch (err) {
      mapPgError(err);
    }
  }

  /** Newest first; undefined if there is no such product. */
  async listReviews(productId: string, page: { limit: number; offset: number }): Promise<Page<Review> | undefined> {
    if (!(await this.exists(productId))) return undefined;
    const [rows, count] = await Promise.all([
      this.db('reviews').where({ product_id: productId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'asc' }]).limit(page.limit).offset(page.offset),
      this.db('reviews').where({ product_id: productId }).count<{ count: string }[]>('* as count'),
    ]);
    return { items: (rows as ReviewRow[]).map(toReview), total: Number(count[0]?.count ?? 0) };
  }
}
