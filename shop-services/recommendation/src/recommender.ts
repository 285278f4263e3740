import type { ScoredId, RecoStore } from './store.js';
import { degradedTotal, servedTotal, type ServedLevel } from './metrics.js';

/** The algorithms the `reco-algo` experiment switches between. Unknown variant names use control. */
export type Algorithm = 'control' | 'cooccurrence-v2';

export function algorithmFor(variant: string | undefined): Algorithm {
  return variant === 'cooccurrence-v2' ? 'cooccurrence-v2' : 'control';
}

export interface RecommendInput {
  userId?: string;
  productId?: string;
  category?: string;
  limit: number;
  algorithm: Algorithm;
}

export interface RecommendedItem {
  productId: string;
  score: number;
  /** The level this particular item came from (lower levels top up a short list). */
  source: ServedLevel;
}

export interface Recommendation {
  /** The highest level that produced at least one item. */
  source: ServedLevel;
  items: RecommendedItem[];
  /** True when the Redis model failed and the static list was served instead. */
  degraded: boolean;
}

export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export interface RecommenderOptions {
  store: RecoStore;
  staticProducts: string[];
  logger: WarnLogger;
  /** Recent views used as seeds for personalisation. */
  seedViews?: number;
  /** Bought-together entries read per seed. */
  candidatesPerSeed?: number;
}

/** Recency decay for cooccurrence-v2: the n-th most recent seed counts 0.7^n. */
const V2_DECAY = 0.7;

/**
 * Fallback chain: personalised (bought-together of the context product and the user's recent views)
 * → popular (category, then global) → static list. Each level tops up what the levels above left
 * short; `source` names the first level that contributed. A Redis failure anywhere degrades to the
 * static list instead of failing the request.
 */
export class Recommender {
  private readonly seedViews: number;
  private readonly candidatesPerSeed: number;

  constructor(private readonly opts: RecommenderOptions) {
    this.seedViews = opts.seedViews ?? 10;
    this.candidatesPerSeed = opts.candidatesPerSeed ?? 50;
  }

  async recommend(input: RecommendInput): Promise<Recommendation> {
    let result: Recommendation;
    try {
      result = await this.fromModel(input);
    } catch (err) {
      this.opts.logger.warn({ err }, 'recommendation model unavailable, serving static list');
      degradedTotal.inc();
      const exclude = new Set(input.productId ? [input.productId] : []);
      const items = this.staticItems(exclude, input.limit);
      result = { source: 'static', items, degraded: true };
    }
    servedTotal.inc({ level: result.source });
    return result;
  }

  /** Personalised from seeds; the input product (if any) is the strongest seed. */
  async personalised(seeds: string[], algorithm: Algorithm, exclude: Set<string>): Promise<ScoredId[]> {
    const lists = await this.opts.store.boughtTogetherMany(seeds, this.candidatesPerSeed);
    const scores = new Map<string, number>();
    lists.forEach((list, seedIndex) => {
      const weight = algorithm === 'cooccurrence-v2' ? V2_DECAY ** seedIndex : 1;
      for (const { productId, score } of list) {
        if (exclude.has(productId)) continue;
        scores.set(productId, (scores.get(productId) ?? 0) + score * weight);
      }
    });
    return [...scores.entries()]
      .map(([productId, score]) => ({ productId, score }))
      .sort((a, b) => b.score - a.score || a.productId.localeCompare(b.productId));
  }

  private async fromModel(input: RecommendInput): Promise<Recommendation> {
    const { store } = this.opts;
    const views = input.userId ? await store.recentViews(input.userId, this.seedViews) : [];
    const seeds = [...new Set([...(input.productId ? [input.productId] : []), ...views])];
    const exclude = new Set(seeds);
    const items: RecommendedItem[] = [];
    const taken = new Set<string>();
    const add = (list: ScoredId[], source: ServedLevel) => {
      for (const { productId, score } of list) {
        if (items.length >= input.limit) return;
        if (taken.has(productId) || exclude.has(productId)) continue;
        taken.add(productId);
        items.push({ productId, score, source });
      }
    };

    if (seeds.length > 0) add(await this.personalised(seeds, input.algorithm, exclude), 'personalised');

    if (items.length < input.limit) {
      // Over-fetch so excluded and already-taken ids do not leave the list short.
      const want = input.limit + exclude.size + taken.size;
      const category = input.category ?? (input.productId ? await store.categoryOf(input.productId) : undefined);
      if (category) add(await store.popular(category, want), 'popular');
      if (items.length < input.limit) add(await store.popular(undefined, want), 'popular');
    }

    if (items.length < input.limit) add(this.staticItems(new Set(), input.limit), 'static');
    const source = items[0]?.source ?? 'static';
    return { source, items, degraded: false };
  }

  private staticItems(exclude: Set<string>, limit: number): RecommendedItem[] {
    return this.opts.staticProducts
      .filter((id) => !exclude.has(id))
      .slice(0, limit)
      .map((productId) => ({ productId, score: 0, source: 'static' as const }));
  }
}
