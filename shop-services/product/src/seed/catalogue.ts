import { createHash } from 'node:crypto';
import { BRANDS, CATEGORY_SPECS } from './categories.js';
import { intBetween, mulberry32, pick, type Rng } from './prng.js';

export interface SeedCategory {
  slug: string;
  name: string;
  description: string;
}

export interface SeedProduct {
  id: string;
  sku: string;
  name: string;
  description: string;
  category: string;
  priceCents: number;
  currency: string;
  status: 'active' | 'inactive';
  imageUrls: string[];
}

export interface SeedReview {
  id: string;
  productId: string;
  userId: string;
  rating: number;
  body: string;
}

export interface Catalogue {
  categories: SeedCategory[];
  products: SeedProduct[];
  reviews: SeedReview[];
}

export interface CatalogueOptions {
  /** PRNG seed: the same seed always yields the same catalogue. */
  seed?: number;
  /** Products per category (25 categories). */
  perCategory?: number;
}

/**
 * A name-based UUID (version 5 layout over SHA-1), so seeded rows keep the same id across machines
 * and re-seeds, and other services' seeds can refer to them.
 */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(`lantern-shop:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const REVIEW_LINES: Record<number, readonly string[]> = {
  1: ['Broke within a week.', 'Not as described, returned it.', 'Very disappointed with the quality.'],
  2: ['Works, but feels cheap.', 'Below my expectations.', 'Shipping was slow and the finish is rough.'],
  3: ['Does the job, nothing special.', 'Decent for the price.', 'Okay overall, a few rough edges.'],
  4: ['Very good, would buy again.', 'Solid quality and well made.', 'Happy with it, minor quibbles only.'],
  5: ['Excellent, exceeded my expectations!', 'Perfect, exactly what I needed.', 'Outstanding quality, highly recommend.'],
};

/** Ratings skew positive, like real shops. */
function reviewRating(rng: Rng): number {
  const r = rng();
  return r < 0.05 ? 1 : r < 0.12 ? 2 : r < 0.3 ? 3 : r < 0.62 ? 4 : 5;
}

/** Prices end in 99 or 49, like a real price list. */
function price(rng: Rng, [min, max]: readonly [number, number]): number {
  // log-uniform: most items sit at the cheap end of the band
  const raw = Math.exp(Math.log(min) + rng() * (Math.log(max) - Math.log(min)));
  const whole = Math.max(1, Math.round(raw / 100));
  return whole * 100 - (rng() < 0.7 ? 1 : 51);
}

export function generateCatalogue(opts: CatalogueOptions = {}): Catalogue {
  const rng = mulberry32(opts.seed ?? 20_261_121);
  const perCategory = opts.perCategory ?? 48;
  const categories = CATEGORY_SPECS.map(({ slug, name, description }) => ({ slug, name, description }));
  const products: SeedProduct[] = [];
  const reviews: SeedReview[] = [];
  const reviewed = new Set<string>();
  for (const spec of CATEGORY_SPECS) {
    const usedNames = new Set<string>();
    for (let i = 1; i <= perCategory; i++) {
      let name = '';
      // names repeat with small word lists; a model number keeps them distinct within a category
      do {
        name = `${pick(rng, BRANDS)} ${pick(rng, spec.adjectives)} ${pick(rng, spec.kinds)}`;
        if (usedNames.has(name)) name = `${name} ${intBetween(rng, 2, 9)}${pick(rng, ['00', '10', '50', 'X', 'S'])}`;
      } while (usedNames.has(name));
      usedNames.add(name);
      const sku = `${spec.slug.replace(/-/g, '').slice(0, 4).toUpperCase()}-${String(i).padStart(4, '0')}`;
      const id = stableUuid(sku);
      const f1 = pick(rng, spec.features);
      const f2 = pick(rng, spec.features.filter((f) => f !== f1));
      const images = intBetween(rng, 1, 3);
      products.push({
        id,
        sku,
        name,
        description: `The ${name} combines ${f1} with ${f2}. ${spec.description} from a brand you can trust.`,
        category: spec.slug,
        priceCents: price(rng, spec.price),
        currency: 'USD',
        status: rng() < 0.95 ? 'active' : 'inactive',
        imageUrls: Array.from({ length: images }, (_, n) => `https://images.lantern.example/products/${sku.toLowerCase()}/${n + 1}.jpg`),
      });
      const reviewCount = Math.floor(rng() * rng() * 12);
      for (let r = 0; r < reviewCount; r++) {
        const rating = reviewRating(rng);
        const userId = stableUuid(`user:${intBetween(rng, 1, 500)}`);
        if (reviewed.has(`${id}:${userId}`)) continue; // one review per user and product
        reviewed.add(`${id}:${userId}`);
        reviews.push({ id: stableUuid(`review:${sku}:${r}`), productId: id, userId, rating, body: pick(rng, REVIEW_LINES[rating] ?? []) });
      }
    }
  }
  return { categories, products, reviews };
}
