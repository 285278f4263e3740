import type { Redis } from 'ioredis';
import type { OrderPlaced, ProductViewed } from './events.js';
import { recoKeys, type RecoKeys } from './keys.js';

export interface StoreOptions {
  /** Key prefix, e.g. `reco` or a test-unique name. */
  prefix: string;
  /** How long an order's "already counted" marker lives: re-deliveries after that would count again. */
  orderMarkerTtlSeconds: number;
  /** Recent views kept per user. */
  recentViewsMax: number;
  /** Recent-views lists of idle users expire after this. */
  recentViewsTtlSeconds: number;
  /** Bought-together sets keep only their top N entries, so a long tail cannot grow them without bound. */
  boughtTogetherMax: number;
  /** Popularity added per unit ordered; a view adds 1. Orders are a stronger signal than views. */
  orderWeight: number;
}

export interface ScoredId {
  productId: string;
  score: number;
}

/**
 * Records an order exactly once: the processed marker (SET NX EX) and every count change happen in
 * one script, so a crash cannot leave counts without marker (double count on redelivery) or a marker
 * without counts (lost order).
 *
 * KEYS: 1 marker, 2 global popularity, 3 product→category hash, 3+i bought-together of item i,
 *       3+n+i category popularity of item i (the marker key as a placeholder when it has none).
 * ARGV: 1 marker TTL, 2 n, 3 order weight, 4 bought-together cap, then per item: id, quantity, category|''.
 * Returns 1 if counted, 0 if the order had been counted before.
 */
const RECORD_ORDER_LUA = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local n = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local ids = {}
for i = 1, n do ids[i] = ARGV[4 + (i - 1) * 3 + 1] end
for i = 1, n do
  local base = 4 + (i - 1) * 3
  local id, qty, cat = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3]
  if n > 1 then
    for j = 1, n do
      if j ~= i then redis.call('ZINCRBY', KEYS[3 + i], 1, ids[j]) end
    end
    redis.call('ZREMRANGEBYRANK', KEYS[3 + i], 0, -(cap + 1))
  end
  redis.call('ZINCRBY', KEYS[2], qty * weight, id)
  if cat ~= '' then
    redis.call('ZINCRBY', KEYS[3 + n + i], qty * weight, id)
    redis.call('HSET', KEYS[3], id, cat)
  end
end
return 1
`;

interface RecoCommands {
  recoRecordOrder(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

/** Merges order lines for the same product, so an order listing a product twice is one co-occurrence. */
function mergeItems(items: OrderPlaced['items']): { productId: string; quantity: number; category: string }[] {
  const merged = new Map<string, { productId: string; quantity: number; category: string }>();
  for (const item of items) {
    const prev = merged.get(item.productId);
    if (prev) {
      prev.quantity += item.quantity;
      if (!prev.category && item.category) prev.category = item.category;
    } else {
      merged.set(item.productId, { productId: item.productId, quantity: item.quantity, category: item.category ?? '' });
    }
  }
  return [...merged.values()];
}

function pairs(flat: string[]): ScoredId[] {
  const out: ScoredId[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push({ productId: flat[i] as string, score: Number(flat[i + 1]) });
  return out;
}

/** All Redis reads and writes of the recommendation model. */
export class RecoStore {
  readonly keys: RecoKeys;
  private readonly redis: Redis & RecoCommands;

  constructor(
    redis: Redis,
    readonly opts: StoreOptions,
  ) {
    this.keys = recoKeys(opts.prefix);
    if (!('recoRecordOrder' in redis)) redis.defineCommand('recoRecordOrder', { lua: RECORD_ORDER_LUA });
    this.redis = redis as Redis & RecoCommands;
  }

  /** Counts an order's co-occurrences and popularity once. Returns false for a re-delivered order. */
  async recordOrder(order: OrderPlaced): Promise<boolean> {
    const items = mergeItems(order.items);
    const k = this.keys;
    const keys = [
      k.orderProcessed(order.orderId),
      k.popularGlobal(),
      k.productCategory(),
      ...items.map((i) => k.boughtTogether(i.productId)),
      ...items.map((i) => (i.category ? k.popularCategory(i.category) : k.orderProcessed(order.orderId))),
    ];
    const args = [
      this.opts.orderMarkerTtlSeconds,
      items.length,
      this.opts.orderWeight,
      this.opts.boughtTogetherMax,
      ...items.flatMap((i) => [i.productId, i.quantity, i.category]),
    ];
    const applied = await this.redis.recoRecordOrder(keys.length, ...keys, ...args);
    return applied === 1;
  }

  /** Moves the product to the front of the user's recent views (deduplicated, capped) and bumps its popularity. */
  async recordView(view: ProductViewed): Promise<void> {
    const k = this.keys;
    const listKey = k.recentViews(view.userId);
    const tx = this.redis
      .multi()
      .lrem(listKey, 0, view.productId)
      .lpush(listKey, view.productId)
      .ltrim(listKey, 0, this.opts.recentViewsMax - 1)
      .expire(listKey, this.opts.recentViewsTtlSeconds)
      .zincrby(k.popularGlobal(), 1, view.productId);
    if (view.category) tx.zincrby(k.popularCategory(view.category), 1, view.productId).hset(k.productCategory(), view.productId, view.category);
    const results = await tx.exec();
    // exec() resolves with per-command errors instead of rejecting; surface the first one.
    const failed = results?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  async recentViews(userId: string, limit = this.opts.recentViewsMax): Promise<string[]> {
    return this.redis.lrange(this.keys.recentViews(userId), 0, limit - 1);
  }

  async boughtTogether(productId: string, limit: number): Promise<ScoredId[]> {
    return pairs(await this.redis.zrevrange(this.keys.boughtTogether(productId), 0, limit - 1, 'WITHSCORES'));
  }

  /** Bought-together lists of several products in one round trip, in the order given. */
  async boughtTogetherMany(productIds: string[], limit: number): Promise<ScoredId[][]> {
    if (productIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of productIds) pipe.zrevrange(this.keys.boughtTogether(id), 0, limit - 1, 'WITHSCORES');
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return pairs(value as string[]);
    });
  }

  async popular(category: string | undefined, limit: number): Promise<ScoredId[]> {
    const key = category ? this.keys.popularCategory(category) : this.keys.popularGlobal();
    return pairs(await this.redis.zrevrange(key, 0, limit - 1, 'WITHSCORES'));
  }

  /** The category last seen for a product in an order or view, if any. */
  async categoryOf(productId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.productCategory(), productId)) ?? undefined;
  }
}
