import type { Redis } from 'ioredis';
import { LOAD_LUA, PURCHASE_CODES, PURCHASE_LUA, RELEASE_LUA } from './scripts.js';

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

export type ReleaseMode = 'hold' | 'hold-keep-buyer' | 'hold-slot-taken' | 'unit';

export interface LoadInput {
  stock: number;
  startsAt: Date;
  endsAt: Date;
  /** Slots not owned by a purchase (failed purchases free theirs). */
  freeSlots: readonly number[];
  buyers: readonly string[];
}

export interface Hold {
  userId: string;
  slot: number;
}

/** Keys are kept a day past the sale's end, then Redis drops them. */
const KEY_LIFETIME_AFTER_END_MS = 24 * 3600 * 1000;

/** A sale's live counters in Redis: free unit slots, the buyer set, and the holds not yet committed. */
export class SaleCounters {
  private readonly purchaseScript: ScriptFn;
  private readonly loadScript: ScriptFn;
  private readonly releaseScript: ScriptFn;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.purchaseScript = defineScript(redis, 'flashSalePurchase', PURCHASE_LUA, 4);
    this.loadScript = defineScript(redis, 'flashSaleLoad', LOAD_LUA, 4);
    this.releaseScript = defineScript(redis, 'flashSaleRelease', RELEASE_LUA, 4);
  }

  /** [state, free slots, buyers, holds] of a sale; one hash tag so they live on one cluster slot. */
  keys(saleId: string): [string, string, string, string] {
    const base = `${this.prefix}{sale:${saleId}}`;
    return [`${base}:state`, `${base}:free`, `${base}:buyers`, `${base}:holds`];
  }

  async purchase(saleId: string, userId: string): Promise<{ outcome: PurchaseOutcome; remaining: number; slot: number }> {
    const [code, remaining, slot] = (await this.purchaseScript(...this.keys(saleId), userId)) as [number, number, number];
    const outcome = OUTCOME_BY_CODE.get(code);
    if (!outcome) throw new Error(`flash-sale purchase script answered an unknown code ${code}`);
    return { outcome, remaining, slot };
  }

  /** Loads the counters unless present. Returns true when this call loaded them. */
  async load(saleId: string, input: LoadInput): Promise<boolean> {
    const expireAt = input.endsAt.getTime() + KEY_LIFETIME_AFTER_END_MS;
    const loaded = await this.loadScript(
      ...this.keys(saleId),
      input.stock,
      input.startsAt.getTime(),
      input.endsAt.getTime(),
      expireAt,
      input.freeSlots.length,
      ...input.freeSlots,
      ...input.buyers,
    );
    return loaded === 1;
  }

  /** The purchase committed in Postgres: its hold is settled. */
  async commitHold(saleId: string, hold: Hold): Promise<void> {
    await this.redis.zrem(this.keys(saleId)[3], `${hold.slot}:${hold.userId}`);
  }

  /** See RELEASE_LUA. Returns remaining after, or undefined when nothing changed. */
  async release(saleId: string, hold: Hold, mode: ReleaseMode): Promise<number | undefined> {
    const r = (await this.releaseScript(...this.keys(saleId), hold.userId, hold.slot, mode)) as number;
    return r < 0 ? undefined : r;
  }

  /** Remaining units of loaded sales (undefined where not loaded), one round trip. */
  async remaining(saleIds: readonly string[]): Promise<(number | undefined)[]> {
    if (saleIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of saleIds) pipeline.hget(this.keys(id)[0], 'remaining');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, v]) => (err || v == null ? undefined : Number(v)));
  }

  /** Holds taken before `before` (ms since epoch): their request may have died. */
  async holdsOlderThan(saleId: string, before: number, limit = 500): Promise<Hold[]> {
    const members = await this.redis.zrangebyscore(this.keys(saleId)[3], '-inf', `(${before}`, 'LIMIT', 0, limit);
    return members.map((m) => {
      const i = m.indexOf(':');
      return { slot: Number(m.slice(0, i)), userId: m.slice(i + 1) };
    });
  }
}
