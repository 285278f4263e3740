import { performance } from 'node:perf_hooks';
import { context, ROOT_CONTEXT, type Attributes } from '@opentelemetry/api';
import type { Logger } from '@lantern/shop-common';
import type { StockStore } from './db/stock-store.js';
import type { ReconcileTrigger } from './inventory.js';
import { driftDetectedUnitsTotal, driftUnits, reconcileDeferredTotal, reconcileRunsTotal, redisRepairsTotal, type StockLevelGauge } from './metrics.js';
import type { ApplyLine, StockGate } from './redis/stock-gate.js';
import { inJobSpan } from './tracing.js';

export interface ReconcileReport {
  scope: 'full' | 'targeted';
  /** Products with a stock row that were looked at. */
  checked: number;
  /** Products whose Redis key had no available count (flushed, or never written). */
  repairedMissing: number;
  /** Products whose Redis count differed from Postgres's (minus holds still in flight). */
  repairedMismatch: number;
  /** Sum over products of |Redis − expected|; a missing key counts its whole expected value. */
  driftUnits: number;
  /** Products that kept changing during every round: left for the next run. */
  deferred: number;
  durationMs: number;
}

export interface ReconcilerOptions {
  store: StockStore;
  gate: StockGate;
  gauge: StockLevelGauge;
  logger: Logger;
  batchSize: number;
  maxRounds: number;
  staleMarkerMs: number;
  minGapMs: number;
}

/**
 * Rebuilds Redis's stock from Postgres and reports the drift it repaired, while reservations keep
 * running. Per batch of products:
 *
 *  1. snapshot Redis (one script): each product's change counter `s`, available `a`, in-flight markers;
 *  2. snapshot Postgres (one REPEATABLE READ transaction): available, and which of those markers'
 *     operations have committed;
 *  3. compare-and-set (one script): for each product whose `s` has not moved since step 1,
 *     a := Postgres available + the deltas of holds still in flight (applied in Redis, not committed
 *     in the snapshot); drop markers whose operation committed (or is long dead).
 *
 * Every script that touches a product bumps `s`, so an unchanged `s` means the markers at step 3 are
 * exactly those of step 1, and their committed/not-committed split is consistent with the Postgres
 * number of the same snapshot. A product that changed is retried in the next round (README).
 */
export class Reconciler implements ReconcileTrigger {
  private chain: Promise<unknown> = Promise.resolve();
  private pendingProducts = new Set<string>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRequestedRun = 0;
  private closed = false;

  constructor(private readonly opts: ReconcilerOptions) {}

  /**
   * Every product, in batches; sets `inventory_redis_drift_units` to what it found. `initial`: the
   * build at start-up, where missing keys are expected (a first boot) and so not counted as drift.
   */
  reconcileAll(opts: { initial?: boolean } = {}): Promise<ReconcileReport> {
    return this.serialised(async () => {
      this.dirty = false;
      const initial = opts.initial === true;
      const started = performance.now();
      let report: ReconcileReport;
      try {
        // The first batch of ids is the check, untraced: no stock rows, nothing to compare, no trace.
        // Past it every run is real work (each product's Redis counter read, compared and set, even
        // when nothing drifted), so every such run has its span; there is no cheaper "no drift" test.
        const first = await this.opts.store.productIds(undefined, this.opts.batchSize);
        const attributes = { 'inventory.reconcile.scope': 'full', 'inventory.reconcile.initial': initial };
        report = first.length === 0 ? await this.fullRun(first, initial) : await this.traced(attributes, () => this.fullRun(first, initial));
      } catch (err) {
        this.dirty = true;
        reconcileRunsTotal.inc({ scope: 'full', outcome: 'error' });
        throw err;
      }
      report.durationMs = Math.round(performance.now() - started);
      if (!initial) driftUnits.set(report.driftUnits);
      reconcileRunsTotal.inc({ scope: 'full', outcome: 'ok' });
      this.log(report, initial);
      return report;
    });
  }

  /** Only these products (unknown ids are ignored); a span whenever there is one to look at. */
  reconcileProducts(productIds: readonly string[]): Promise<ReconcileReport> {
    return this.serialised(async () => {
      const started = performance.now();
      let report: ReconcileReport;
      try {
        const ids = [...new Set(productIds)];
        const run = async () => {
          const r = emptyReport('targeted');
          for (let i = 0; i < ids.length; i += this.opts.batchSize) await this.reconcileBatch(ids.slice(i, i + this.opts.batchSize), r);
          return r;
        };
        report = ids.length === 0 ? await run() : await this.traced({ 'inventory.reconcile.scope': 'targeted' }, run);
      } catch (err) {
        reconcileRunsTotal.inc({ scope: 'targeted', outcome: 'error' });
        throw err;
      }
      report.durationMs = Math.round(performance.now() - started);
      reconcileRunsTotal.inc({ scope: 'targeted', outcome: 'ok' });
      this.log(report);
      return report;
    });
  }

  requestProducts(productIds: readonly string[]): void {
    for (const id of productIds) this.pendingProducts.add(id);
    this.schedule();
  }

  markDirty(): void {
    this.dirty = true;
    this.schedule();
  }

  /** Resolves when no run is queued or running (tests). */
  async idle(): Promise<void> {
    while (this.timer || this.pendingProducts.size > 0) {
      await new Promise((r) => setTimeout(r, 10));
      await this.chain.catch(() => undefined);
      if (this.closed) return;
    }
    await this.chain.catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  /** At most one requested run per minGapMs; requests arriving meanwhile join the next one. */
  private schedule(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastRequestedRun + this.opts.minGapMs - Date.now());
    // the run is not part of the trace of the request that asked for it (it may serve several): a trace of its own
    this.timer = setTimeout(() => context.with(ROOT_CONTEXT, () => {
      this.timer = undefined;
      this.lastRequestedRun = Date.now();
      const run = this.dirty ? this.reconcileAll() : this.reconcileProducts(this.takePending());
      if (this.dirty) this.pendingProducts.clear();
      run.catch((err: unknown) => {
        this.opts.logger.warn({ err: (err as Error).message }, 'requested reconciliation failed; the periodic one will retry');
      });
    }), wait);
    this.timer.unref();
  }

  /** The batches from `first` (the first page of ids) to the end, then the prune of old operation ids. */
  private async fullRun(first: string[], initial: boolean): Promise<ReconcileReport> {
    const report = emptyReport('full');
    for (let ids = first; ids.length > 0; ids = await this.opts.store.productIds(ids[ids.length - 1], this.opts.batchSize)) {
      await this.reconcileBatch(ids, report, initial);
    }
    // operation ids older than any marker the reconciler still trusts are of no more use
    await this.opts.store.pruneOps(Math.max(2 * this.opts.staleMarkerMs, 3_600_000));
    return report;
  }

  /** A run in its `inventory.reconcile` span, with what it found as attributes. */
  private traced(attributes: Attributes, run: () => Promise<ReconcileReport>): Promise<ReconcileReport> {
    return inJobSpan('inventory.reconcile', attributes, async (span) => {
      const report = await run();
      span.setAttributes({
        'inventory.reconcile.checked': report.checked,
        'inventory.reconcile.repaired_missing': report.repairedMissing,
        'inventory.reconcile.repaired_mismatch': report.repairedMismatch,
        'inventory.reconcile.drift_units': report.driftUnits,
        'inventory.reconcile.deferred': report.deferred,
      });
      return report;
    });
  }

  private takePending(): string[] {
    const ids = [...this.pendingProducts];
    this.pendingProducts.clear();
    return ids;
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.catch(() => undefined).then(fn);
    this.chain = run;
    return run;
  }

  private async reconcileBatch(ids: readonly string[], report: ReconcileReport, initial = false): Promise<void> {
    let pending = [...ids];
    for (let round = 0; round < this.opts.maxRounds && pending.length > 0; round++) {
      const redis = await this.opts.gate.snapshot(pending);
      const opIds = [...new Set(redis.products.flatMap((p) => p.markers.map((m) => m.opId)))];
      const pg = await this.opts.store.snapshot(pending, opIds);
      const rows = new Map(pg.rows.map((r) => [r.productId, r]));
      const lines: ApplyLine[] = [];
      for (const p of redis.products) {
        const row = rows.get(p.productId);
        if (!row) continue; // no stock row: nothing to gate
        if (round === 0) {
          report.checked++;
          this.opts.gauge.set(row.sku, row.available);
        }
        let available = row.available;
        const dropMarkers: string[] = [];
        for (const m of p.markers) {
          const stale = redis.nowMs - m.startedAtMs > this.opts.staleMarkerMs;
          if (pg.committed.has(m.opId) || stale) dropMarkers.push(m.opId);
          else if (m.applied) available += m.delta; // a hold Postgres does not have yet
        }
        lines.push({ productId: p.productId, expectedSeq: p.seq, available, dropMarkers });
      }
      if (lines.length === 0) return;
      const results = await this.opts.gate.apply(lines);
      const next: string[] = [];
      results.forEach((r, i) => {
        const line = lines[i] as ApplyLine;
        if (r.kind === 'skipped') {
          next.push(line.productId);
          return;
        }
        if (r.previous === undefined) {
          report.repairedMissing++;
          report.driftUnits += Math.abs(line.available);
          if (!initial) {
            redisRepairsTotal.inc({ kind: 'missing' });
            driftDetectedUnitsTotal.inc(Math.abs(line.available));
          }
        } else if (r.previous !== line.available) {
          const drift = Math.abs(r.previous - line.available);
          report.repairedMismatch++;
          report.driftUnits += drift;
          if (!initial) {
            redisRepairsTotal.inc({ kind: 'mismatch' });
            driftDetectedUnitsTotal.inc(drift);
          }
        }
      });
      pending = next;
    }
    if (pending.length) {
      report.deferred += pending.length;
      reconcileDeferredTotal.inc(pending.length);
      // keep them for a targeted run soon rather than waiting for the next period
      this.requestProducts(pending);
    }
  }

  private log(report: ReconcileReport, initial = false): void {
    if (initial) {
      this.opts.logger.info({ ...report }, 'redis stock rebuilt from postgres');
      return;
    }
    const level = report.driftUnits > 0 || report.deferred > 0 ? 'warn' : 'debug';
    this.opts.logger[level]({ ...report }, report.driftUnits > 0 ? 'redis stock drift repaired' : 'redis stock reconciled');
  }
}

function emptyReport(scope: ReconcileReport['scope']): ReconcileReport {
  return { scope, checked: 0, repairedMissing: 0, repairedMismatch: 0, driftUnits: 0, deferred: 0, durationMs: 0 };
}
