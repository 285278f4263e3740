import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { SpanKind, trace } from '@opentelemetry/api';
import { recordFailure, type Logger } from '@lantern/shop-common';
import type { Runner } from './db/orders-repo.js';
import { jobsTotal } from './metrics.js';

const tracer = trace.getTracer('@lantern/shop-order/scheduler');

export interface Job {
  id: string;
  kind: string;
  key: string;
  payload: Record<string, unknown>;
  runAt: Date;
  /** Runs so far, this one included. */
  attempts: number;
}

/** What a handler returns: nothing (done, the job is deleted) or when to look again (not a failure). */
export type JobResult = void | { retryAt: Date };
export type JobHandler = (job: Job) => Promise<JobResult>;

export interface ScheduleInput {
  kind: string;
  key: string;
  runAt: Date;
  payload?: Record<string, unknown>;
}

export interface SchedulerOptions {
  knex: Knex;
  logger: Logger;
  pollIntervalMs: number;
  batchSize: number;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

interface JobRow {
  id: string;
  kind: string;
  key: string;
  payload: Record<string, unknown>;
  run_at: Date;
  attempts: number;
  lease_token: string;
}

const toJob = (r: JobRow): Job => ({ id: String(r.id), kind: r.kind, key: r.key, payload: r.payload ?? {}, runAt: r.run_at, attempts: r.attempts });

/**
 * A durable scheduler on Postgres. Jobs live in `scheduled_jobs` (written in the same transaction as
 * the state change that needs them), so neither a crash nor a restart loses one. Workers claim due
 * jobs with `FOR UPDATE SKIP LOCKED` and a lease: several instances share the table without running
 * a job twice at once, and a job whose worker died runs again once its lease has passed. A handler
 * that throws is retried with exponential backoff (with jitter), forever: compensations must finish.
 * Handlers must be idempotent (at-least-once).
 */
export class Scheduler {
  private readonly handlers = new Map<string, JobHandler>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SchedulerOptions) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /**
   * Schedules a job (inside the caller's transaction when given one). An existing job of the same
   * kind and key is kept as it is ('keep'), or moved to the new time ('replace').
   */
  async schedule(db: Runner, job: ScheduleInput, onExisting: 'keep' | 'replace' = 'keep'): Promise<void> {
    const q = db('scheduled_jobs')
      .insert({ kind: job.kind, key: job.key, payload: JSON.stringify(job.payload ?? {}), run_at: job.runAt })
      .onConflict(['kind', 'key']);
    if (onExisting === 'keep') await q.ignore();
    // a replaced job loses its lease token: the worker running the old one must not delete the new one
    else await q.merge({ run_at: job.runAt, payload: JSON.stringify(job.payload ?? {}), attempts: 0, last_error: null, locked_until: null, lease_token: null });
  }

  async cancel(db: Runner, kind: string, key: string): Promise<void> {
    await db('scheduled_jobs').where({ kind, key }).delete();
  }

  /**
   * Schedules one job ('keep' on conflict) and cancels others of the same key, in one statement: a
   * saga transition usually does both (e.g. paid: confirm now, no more payment timeout or re-drive).
   */
  async reschedule(db: Runner, job: ScheduleInput, cancelKinds: readonly string[]): Promise<void> {
    // one statement sees one snapshot: cancelling the kind it inserts would race with itself
    if (cancelKinds.includes(job.kind)) throw new Error(`reschedule: cannot schedule and cancel ${job.kind} at once`);
    await db.raw(
      `WITH gone AS (DELETE FROM scheduled_jobs WHERE key = ? AND kind = ANY(?::text[]))
       INSERT INTO scheduled_jobs (kind, key, payload, run_at) VALUES (?, ?, ?::jsonb, ?) ON CONFLICT (kind, key) DO NOTHING`,
      [job.key, [...cancelKinds], job.kind, job.key, JSON.stringify(job.payload ?? {}), job.runAt],
    );
  }

  async pending(kind?: string): Promise<{ kind: string; key: string; runAt: Date; attempts: number; lastError: string | null }[]> {
    const rows = (await this.opts.knex('scheduled_jobs')
      .modify((q) => {
        if (kind) q.where({ kind });
      })
      .orderBy('run_at')) as { kind: string; key: string; run_at: Date; attempts: number; last_error: string | null }[];
    return rows.map((r) => ({ kind: r.kind, key: r.key, runAt: r.run_at, attempts: r.attempts, lastError: r.last_error }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight.catch(() => undefined);
  }

  /** Polls now instead of at the next tick (e.g. right after scheduling a compensation). */
  wake(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.loop(), 0);
  }

  private loop(): void {
    this.timer = undefined;
    const tick = this.runDue()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err: (err as Error).message }, 'scheduler poll failed');
        return 0;
      })
      .then((n) => {
        if (!this.running) return;
        // a full batch means more may be due: go again at once
        this.timer = setTimeout(() => this.loop(), n >= this.opts.batchSize ? 0 : this.opts.pollIntervalMs);
      });
    this.inFlight = tick;
  }

  /** Claims the due jobs (one batch) and runs them; returns how many ran. */
  async runDue(): Promise<number> {
    const jobs = await this.claim(this.opts.knex('scheduled_jobs').select('id').where('run_at', '<=', this.opts.knex.fn.now()));
    await Promise.all(jobs.map((j) => this.execute(j)));
    return jobs.length;
  }

  /**
   * Runs one job now if it exists and nobody holds it (e.g. the release right after a payment failure,
   * so the customer sees the stock back without waiting for a poll). Otherwise the scheduler runs it.
   */
  async runNow(kind: string, key: string, waitForOthersMs = 0): Promise<boolean> {
    const jobs = await this.claim(this.opts.knex('scheduled_jobs').select('id').where({ kind, key }));
    const job = jobs[0];
    if (job) return this.execute(job);
    // held by another worker (usually this process's own poll): wait until that run lets go of it
    const deadline = Date.now() + waitForOthersMs;
    while (Date.now() < deadline) {
      const row = (await this.opts.knex('scheduled_jobs').where({ kind, key }).first('locked_until')) as { locked_until: Date | null } | undefined;
      if (!row) return true;
      if (!row.locked_until || row.locked_until.getTime() < Date.now()) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  private async claim(candidates: Knex.QueryBuilder): Promise<JobRow[]> {
    const { knex } = this.opts;
    const token = randomUUID();
    const ids = candidates
      .clone()
      .where((q) => q.whereNull('locked_until').orWhere('locked_until', '<', knex.fn.now()))
      .orderBy('run_at')
      .limit(this.opts.batchSize)
      .forUpdate()
      .skipLocked();
    return (await knex('scheduled_jobs')
      .whereIn('id', ids)
      .update({
        locked_until: knex.raw(`now() + (? * interval '1 millisecond')`, [this.opts.leaseMs]),
        lease_token: token,
        attempts: knex.raw('attempts + 1'),
      })
      .returning(['id', 'kind', 'key', 'payload', 'run_at', 'attempts', 'lease_token'])) as JobRow[];
  }

  /**
   * Runs one claimed job in a span of its own: the polls that find nothing are not traced (the SDK
   * records database spans only under a parent), so each job that runs is one trace, its SQL and
   * upstream calls inside it.
   */
  private execute(row: JobRow): Promise<boolean> {
    const attributes = { 'lantern.job.kind': row.kind, 'lantern.job.key': row.key, 'lantern.job.attempts': row.attempts };
    return tracer.startActiveSpan(`job ${row.kind}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        return await this.executeJob(row);
      } finally {
        span.end();
      }
    });
  }

  /** Runs one claimed job; true if it completed. */
  private async executeJob(row: JobRow): Promise<boolean> {
    const { knex, logger } = this.opts;
    const job = toJob(row);
    const mine = { id: row.id, lease_token: row.lease_token };
    const handler = this.handlers.get(job.kind);
    try {
      if (!handler) throw new Error(`no handler registered for job kind ${job.kind}`);
      const result = await handler(job);
      if (result && 'retryAt' in result) {
        await knex('scheduled_jobs').where(mine).update({ run_at: result.retryAt, locked_until: null, lease_token: null, last_error: null });
        jobsTotal.inc({ kind: job.kind, outcome: 'rescheduled' });
        return false;
      }
      await knex('scheduled_jobs').where(mine).delete();
      jobsTotal.inc({ kind: job.kind, outcome: 'done' });
      return true;
    } catch (err) {
      const delay = this.backoff(job.attempts);
      const message = err instanceof Error ? err.message : String(err);
      const span = trace.getActiveSpan();
      if (span) recordFailure(span, err);
      logger.warn({ kind: job.kind, key: job.key, attempts: job.attempts, retryInMs: delay, err: message }, 'scheduled job failed; will retry');
      await knex('scheduled_jobs')
        .where(mine)
        .update({ run_at: new Date(Date.now() + delay), locked_until: null, lease_token: null, last_error: message.slice(0, 1000) })
        .catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'could not reschedule failed job; its lease will expire'));
      jobsTotal.inc({ kind: job.kind, outcome: 'failed' });
      return false;
    }
  }

  /** Exponential backoff with full jitter over the upper half: base·2^(n-1), capped. */
  private backoff(attempts: number): number {
    const ceiling = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}
