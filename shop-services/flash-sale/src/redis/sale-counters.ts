import type { Redis } from 'ioredis';
import { LOAD_LUA, PURCHASE_CODES, PURCHASE_LUA, RELEASE_LUA, SOLD_OUT_LUA } from './scripts.js';

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a script with ioredis (EVALSHA, with EVAL again after NOSCRIPT, e.g. once Redis was
 * flushed or restarted) and returns a typed caller.
 */
function defineScript(redis: Redis, name: string, lua: string, keys: number): ScriptFn {
  redis.defineCommand(name, { numberOfKeys: keys, lua });
  const commands = redis as unknown as Record<string, ScriptFn>;
  return (...args) => commands[name]!(...args);
}

export type PurchaseOutcome = 'not_loaded' | 'sold_out' | 'accepted' | 'not_started' | 'ended' | 'already_purchased';

const OUTCOME_BY_CODE = new Map<number, PurchaseOutcome>([
  [PURCHASE_CODES.notLoaded, 'not_loaded'],
  [PURCHASE_CODES.soldOut, 'sold_out'],
  [PURCHASE_CODES.accepted, 'accepted'],
  [PURCHASE_CODES.notStarted, 'not_started'],
  [PURCHASE_CODES.ended, 'ended'],
  [PURCHASE_CODES.alreadyPurchased, 'already_purchased'],
]);

export type ReleaseMode = 'hold' | 'hold-keep-buyer' | 'unit';

export interface LoadInput {
  remaining: number;
  stock: number;
  startsAt: Date;
  endsAt: Date;
  buyers: readonly string[];
}

/** Keys are kept a day past the sale's end, then Redis drops them. */
const KEY_LIFETIME_AFTER_END_MS = 24 * 3600 * 1000;
const SADD_CHUNK = 5000;

/** A sale's live counters in Redis: remaining units, the buyer set and the holds not yet committed. */
export class SaleCounters {
  private readonly purchaseScript: ScriptFn;
  private readonly loadScript: ScriptFn;
  private readonly releaseScript: ScriptFn;
  private readonly soldOutScript: ScriptFn;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.purchaseScript = defineScript(redis, 'flashSalePurchase', PURCHASE_LUA, 3);
    this.loadScript = defineScript(redis, 'flashSaleLoad', LOAD_LUA, 3);
    this.releaseScript = defineScript(redis, 'flashSaleRelease', RELEASE_LUA, 3);
    this.soldOutScript = defineScript(redis, 'flashSaleSoldOut', SOLD_OUT_LUA, 3);
  }

  /** [state, buyers, holds] of a sale; one hash tag so they live on one cluster slot. */
  keys(saleId: string): [string, string, string] {
    const base = `${this.prefix}{sale:${saleId}}`;
    return [`${base}:state`, `${base}:buyers`, `${base}:holds`];
  }

  async purchase(saleId: string, userId: string): Promise<{ outcome: PurchaseOutcome; remaining: number }> {
    const [code, remaining] = (await this.purchaseScript(...this.keys(saleId), userId)) as [number, number];
    const outcome = OUTCOME_BY_CODE.get(code);
    if (!outcome) throw new Error(`flash-sale purchase script answered an unknown code ${code}`);
    return { outcome, remaining };
  }

  /** Loads the counters unless present. Returns true when this call loaded them. */
  async load(saleId: string, input: LoadInput): Promise<boolean> {
    const [state, buyers, holds] = this.keys(saleId);
    const expireAt = input.endsAt.getTime() + KEY_LIFETIME_AFTER_END_MS;
    for (let i = 0; i < input.buyers.length; i += SADD_CHUNK) await this.redis.sadd(buyers, ...input.buyers.slice(i, i + SADD_CHUNK));
    const loaded = await this.loadScript(state, buyers, holds, Math.max(0, input.remaining), input.stock, input.startsAt.getTime(), input.endsAt.getTime(), expireAt);
    await this.redis.pexpireat(holds, expireAt);
    return loaded === 1;
  }

  /** The purchase committed in Postgres: its hold is settled. */
  async commitHold(saleId: string, userId: string): Promise<void> {
    const [, , holds] = this.keys(saleId);
    await this.redis.zrem(holds, userId);
  }

  /** Gives a unit back (see RELEASE_LUA). Returns remaining after, or undefined when nothing changed. */
  async release(saleId: string, userId: string, mode: ReleaseMode): Promise<number | undefined> {
    const r = (await this.releaseScript(...this.keys(saleId), userId, mode)) as number;
    return r < 0 ? undefined : r;
  }

  async markSoldOut(saleId: string): Promise<void> {
    await this.soldOutScript(...this.keys(saleId));
  }

  /** Remaining units of loaded sales (undefined where not loaded), one round trip. */
  async remaining(saleIds: readonly string[]): Promise<(number | undefined)[]> {
    if (saleIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of saleIds) pipeline.hget(this.keys(id)[0], 'remaining');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, v]) => (err || v == null ? undefined : Number(v)));
  }

  /** Users whose hold is older than `before` (ms since epoch): their request may have died. */
  async holdsOlderThan(saleId: string, before: number, limit = 500): Promise<string[]> {
    const [, , holds] = this.keys(saleId);
    return this.redis.zrangebyscore(holds, '-inf', `(${before}`, 'LIMIT', 0, limit);
  }
}
