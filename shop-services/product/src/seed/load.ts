import type { Knex } from 'knex';
import { generateCatalogue, type CatalogueOptions } from './catalogue.js';

export interface SeedResult {
  categories: number;
  products: number;
  reviews: number;
}

const BATCH = 250;

/**
 * Loads the generated catalogue. Idempotent: rows that already exist (same slug, sku or review) are
 * left alone, so it is safe at every start-up and after admins have edited products.
 * Returns how many rows were inserted by this call.
 */
export async function seedCatalogue(db: Knex, opts: CatalogueOptions = {}): Promise<SeedResult> {
  const cat = generateCatalogue(opts);
  return db.transaction(async (trx) => {
    // one seeder at a time (two instances starting together): the second waits, then inserts nothing
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(current_schema() || \':product-seed\'))');
    const categories = await trx('categories').insert(cat.categories).onConflict('slug').ignore().returning('slug');
    let products = 0;
    for (let i = 0; i < cat.products.length; i += BATCH) {
      const rows = cat.products.slice(i, i + BATCH).map((p) => ({
        id: p.id,
        sku: p.sku,
        name: p.name,
        description: p.description,
        category: p.category,
        price_cents: p.priceCents,
        currency: p.currency,
        status: p.status,
        image_urls: JSON.stringify(p.imageUrls),
      }));
      products += (await trx('products').insert(rows).onConflict('sku').ignore().returning('id')).length;
    }
    // a sku an admin created by hand keeps its own id; reviews only go to seeded ids that exist
    const present = new Set<string>();
    for (let i = 0; i < cat.products.length; i += 1000) {
      const ids = cat.products.slice(i, i + 1000).map((p) => p.id);
      for (const r of (await trx('products').whereIn('id', ids).select('id')) as { id: string }[]) present.add(r.id);
    }
    const reviewRows = cat.reviews
      .filter((r) => present.has(r.productId))
      .map((r) => ({ id: r.id, product_id: r.productId, user_id: r.userId, rating: r.rating, body: r.body }));
    let reviews = 0;
    for (let i = 0; i < reviewRows.length; i += BATCH) {
      reviews += (await trx('reviews').insert(reviewRows.slice(i, i + BATCH)).onConflict(['product_id', 'user_id']).ignore().returning('id')).length;
    }
    if (reviews > 0) {
      await trx.raw(`
        UPDATE products p SET rating_avg = agg.avg, rating_count = agg.count
          FROM (SELECT product_id, round(avg(rating), 2) AS avg, count(*)::int AS count FROM reviews GROUP BY product_id) agg
         WHERE p.id = agg.product_id AND (p.rating_count IS DISTINCT FROM agg.count OR p.rating_avg IS DISTINCT FROM agg.avg)`);
    }
    return { categories: categories.length, products, reviews };
  });
}
