import type { Redis } from 'ioredis';
import { APPLY_LUA, BEGIN_LUA, FINISH_LUA, HOLD_LUA, SETTLE_LUA, SNAPSHOT_LUA, UNDO_LUA } from './scripts.js';

/** One product's part of an operation. */
export interface GateLine {
  productId: string;
  quantity: number;
}

export type HoldResult =
  | { kind: 'held' }
  /** Redis has fewer units than asked for at `index`; `inFlight` = units of holds Postgres may not have yet. */
  | { kind: 'insufficient'; index: number; available: number; inFlight: number }
  /** Redis does not know the stock of the product at `index` (flushed, or a row it has not seen yet). */
  | { kind: 'missing'; index: number };

/** An in-flight operation found in a product's hash. */
export interface Marker {
  opId: string;
  delta: number;
  /** The delta is already in `available` (a hold). */
  applied: boolean;
  startedAtMs: number;
}

export interface ProductSnapshot {
  productId: string;
  /** The change counter ('' when absent): apply() only writes if it is unchanged. */
  seq: string;
  available: number | undefined;
  markers: Marker[];
}

export interface ApplyLine {
  productId: string;
  expectedSeq: string;
  available: number;
  dropMarkers: string[];
}

export type ApplyResult = { kind: 'skipped' } | { kind: 'written'; previous: number | undefined };

type ScriptFn = (numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

const SCRIPTS = {
  invHold: HOLD_LUA,
  invSettle: SETTLE_LUA,
  invUndo: UNDO_LUA,
  invBegin: BEGIN_LUA,
  invFinish: FINISH_LUA,
  invSnapshot: SNAPSHOT_LUA,
  invApply: APPLY_LUA,
} as const;
type ScriptName = keyof typeof SCRIPTS;

/**
 * The fast gate in front of Postgres: an atomic, all-or-nothing hold of several products' units in
 * one Lua script, and the bookkeeping (in-flight markers, change counter) that lets the reconciler
 * rebuild Redis from Postgres while reservations keep running. Every method may throw when Redis is
 * unreachable; callers then fall back to Postgres alone.
 */
export class StockGate {
  private readonly scripts: Record<ScriptName, ScriptFn>;

  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    const client = redis as unknown as Record<string, ScriptFn | undefined>;
    const bound = {} as Record<ScriptName, ScriptFn>;
    for (const [name, lua] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
      // variable number of keys: the caller passes it first (ioredis sends EVALSHA, EVAL on NOSCRIPT)
      if (typeof client[name] !== 'function') redis.defineCommand(name, { lua });
      const fn = client[name];
      if (typeof fn !== 'function') throw new Error(`ioredis did not define ${name}`);
      bound[name] = fn.bind(redis);
    }
    this.scripts = bound;
  }

  key(productId: string): string {
    return `${this.prefix}p:${productId}`;
  }

  private keys(productIds: readonly string[]): string[] {
    return productIds.map((id) => this.key(id));
  }

  async hold(opId: string, lines: readonly GateLine[]): Promise<HoldResult> {
    const r = (await this.scripts.invHold(lines.length, ...this.keys(lines.map((l) => l.productId)), opId, ...lines.map((l) => l.quantity))) as number[];
    if (r[0] === 1) return { kind: 'held' };
    const index = Number(r[1]) - 1;
    if (r[0] === -1) return { kind: 'missing', index };
    return { kind: 'insufficient', index, available: Number(r[2]), inFlight: Number(r[3]) };
  }

  async settle(opId: string, productIds: readonly string[]): Promise<void> {
    await this.scripts.invSettle(productIds.length, ...this.keys(productIds), opId);
  }

  async undo(opId: string, productIds: readonly string[]): Promise<void> {
    await this.scripts.invUndo(productIds.length, ...this.keys(productIds), opId);
  }

  async begin(opId: string, productIds: readonly string[]): Promise<void> {
    await this.scripts.invBegin(productIds.length, ...this.keys(productIds), opId);
  }

  /** `deltas` per product: what the committed transaction added to available (0 if nothing or rolled back). */
  async finish(opId: string, deltas: ReadonlyMap<string, number>): Promise<void> {
    const ids = [...deltas.keys()];
    await this.scripts.invFinish(ids.length, ...this.keys(ids), opId, ...ids.map((id) => deltas.get(id) ?? 0));
  }

  async snapshot(productIds: readonly string[]): Promise<{ nowMs: number; products: ProductSnapshot[] }> {
    const r = (await this.scripts.invSnapshot(productIds.length, ...this.keys(productIds))) as unknown[];
    const products = productIds.map((productId, i) => parseHash(productId, (r[i + 1] as string[] | undefined) ?? []));
    return { nowMs: Number(r[0]), products };
  }

  async apply(lines: readonly ApplyLine[]): Promise<ApplyResult[]> {
    const args: (string | number)[] = [];
    for (const l of lines) args.push(l.expectedSeq, l.available, l.dropMarkers.length, ...l.dropMarkers);
    const r = (await this.scripts.invApply(lines.length, ...this.keys(lines.map((l) => l.productId)), ...args)) as string[];
    return r.map((v) => (v === 'skip' ? { kind: 'skipped' } : { kind: 'written', previous: v === 'missing' ? undefined : Number(v) }));
  }

  /** Units Redis shows as available (undefined when unknown); for tests and diagnostics. */
  async available(productId: string): Promise<number | undefined> {
    const v = await this.redis.hget(this.key(productId), 'a');
    return v === null ? undefined : Number(v);
  }
}

const MARKER = /^(-?\d+)\|([01])\|(\d+)$/;

function parseHash(productId: string, flat: string[]): ProductSnapshot {
  let seq = '';
  let available: number | undefined;
  const markers: Marker[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = flat[i + 1] as string;
    if (field === 's') seq = value;
    else if (field === 'a') available = Number(value);
    else if (field.startsWith('o:')) {
      const m = MARKER.exec(value);
      if (m) markers.push({ opId: field.slice(2), delta: Number(m[1]), applied: m[2] === '1', startedAtMs: Number(m[3]) });
    }
  }
  return { productId, seq, available, markers };
}
