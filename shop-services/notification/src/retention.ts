import { trace, type Span } from '@opentelemetry/api';
import type { Knex } from 'knex';
import { inJobSpan, PROCESSED_EVENTS_TABLE, type Logger } from '@lantern/shop-common';
import { retentionDeletedTotal, type RetentionKind } from './metrics.js';

export type { RetentionKind } from './metrics.js';

export const RETENTION_KINDS: readonly RetentionKind[] = ['notifications_read', 'notifications_unread', 'deliveries', 'processed_events'];

export interface RetentionOptions {
  knex: Knex;
  /** Days each kind is kept; 0 keeps it forever (the kind is never looked at). */
  days: Record<RetentionKind, number>;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Between the runs of this process; 0: start() schedules none (run() still works). */
  intervalMs: number;
  /** Delay of the first run after start(); default: a minute, or intervalMs if shorter. */
  firstRunDelayMs?: number;
  logger: Logger;
}

/**
 * What one run did: `disabled` (every kind is 0), `busy` (another process holds the retention lock;
 * nothing done), `idle` (nothing old enough), `deleted` (at least one kind had rows to delete).
 */
export interface RetentionRun {
  outcome: 'disabled' | 'busy' | 'idle' | 'deleted';
  deleted: Record<RetentionKind, number>;
  /** DELETE statements per kind: the last one of a kind deleted fewer rows than the batch size. */
  batches: Record<RetentionKind, number>;
}

/** The retention job's own Postgres session, as knex hands it out (pg.Client). */
interface PgSession {
  query<R>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
  on(event: 'error', fn: (err: Error) => void): void;
}

const tracer = trace.getTracer('@lantern/shop-notification');

/**
 * The rows of each kind that may go (`p` is the days parameter), oldest first by `age`. Only these:
 * an unread message is kept (much longer, by its own limit), a delivery still pending or being sent
 * is the dispatcher's work, and each age runs from what made the row final (read, outcome, claim).
 * Each condition and order matches one index (migrations 001 and 002, processed_events' own). The
 * ORDER BY is what keeps the planner on it: with LIMIT alone it may pick a sequential scan whenever
 * its statistics say many rows qualify, which on a table the job keeps trimmed means reading it all.
 */
const CONDITIONS: Record<RetentionKind, { table: string; where: (p: string) => string; age: string }> = {
  notifications_read: { table: 'notifications', where: (p) => `read_at IS NOT NULL AND read_at < now() - make_interval(days => ${p}::int)`, age: 'read_at' },
  notifications_unread: { table: 'notifications', where: (p) => `read_at IS NULL AND created_at < now() - make_interval(days => ${p}::int)`, age: 'created_at' },
  deliveries: { table: 'deliveries', where: (p) => `status IN ('sent', 'failed', 'skipped') AND updated_at < now() - make_interval(days => ${p}::int)`, age: 'updated_at' },
  processed_events: { table: PROCESSED_EVENTS_TABLE, where: (p) => `processed_at < now() - make_interval(days => ${p}::int)`, age: 'processed_at' },
};

/** The oldest rows of the kind that may go, `limit` (a parameter) at most. */
function oldest(kind: RetentionKind, what: string, days: string, limit: string): string {
  const { table, where, age } = CONDITIONS[kind];
  return `SELECT ${what} FROM "${table}" WHERE ${where(days)} ORDER BY ${age} LIMIT ${limit}`;
}

/**
 * One batch: at most $2 rows, in its own (autocommit) transaction, so row locks, the WAL burst and
 * the statement are bounded whatever the backlog. By ctid, so a row updated between the sub-select
 * and the delete (a message read just now: it has a new ctid) is left alone rather than deleted on
 * an outdated reading.
 */
const DELETE_SQL = Object.fromEntries(
  RETENTION_KINDS.map((kind) => [kind, `DELETE FROM "${CONDITIONS[kind].table}" WHERE ctid IN (${oldest(kind, 'ctid', '$1', '$2')})`]),
) as Record<RetentionKind, string>;

/** Session-level, so it spans the run's many autocommit statements; per schema (one shop per schema). */
const LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext(current_schema() || ':notification-retention')) AS locked";

const FIRST_RUN_DELAY_MS = 60_000;

const zeros = (): Record<RetentionKind, number> => ({ notifications_read: 0, notifications_unread: 0, deliveries: 0, processed_events: 0 });

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Deletes what the notification service no longer needs (see the README's Retention section): read
 * and (much later) unread in-app messages, finished delivery records, old event claims.
 *
 * - One run at a time across replicas: a run works on a Postgres session of its own that takes a
 *   session-level advisory lock first (a run finding it taken does nothing: `busy`), and every
 *   statement of the run goes through that session, which is closed at the end. Closing releases the
 *   lock, also after an error; a process that dies takes its session, and so the lock, with it.
 * - Bounded batches (see DELETE_SQL), looped per kind until a batch comes back short.
 * - Traced only when there is work: the lock and a one-statement look for due rows run before any
 *   span (the SDK traces SQL only under a parent span); a run that finds rows opens
 *   `notification.retention` over its deletes, with the counts as attributes.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> | undefined;
  private stopping = false;

  constructor(private readonly opts: RetentionOptions) {}

  /** Schedules runs every intervalMs (the first sooner); none when intervalMs is 0. */
  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer || this.current) return;
    this.stopping = false;
    this.schedule(this.opts.firstRunDelayMs ?? Math.min(FIRST_RUN_DELAY_MS, this.opts.intervalMs));
  }

  /** No more runs; a run under way stops after its current batch (the rest waits for the next run). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** One run now (the scheduled runs call this); throws if Postgres fails it (rows deleted so far stay deleted). */
  async run(): Promise<RetentionRun> {
    const kinds = RETENTION_KINDS.filter((k) => this.opts.days[k] > 0);
    if (kinds.length === 0) return { outcome: 'disabled', deleted: zeros(), batches: zeros() };
    const session = (await this.opts.knex.client.acquireRawConnection()) as PgSession;
    // an idle session's connection error is emitted, not thrown: without a listener it would end the process
    session.on('error', (err) => this.opts.logger.warn({ err: errorText(err) }, 'retention: its Postgres session failed'));
    try {
      const [lock] = (await session.query<{ locked: boolean }>(LOCK_SQL)).rows;
      if (!lock?.locked) return { outcome: 'busy', deleted: zeros(), batches: zeros() };
      const due = await this.dueKinds(session, kinds);
      if (due.length === 0) return { outcome: 'idle', deleted: zeros(), batches: zeros() };
      return await inJobSpan(tracer, 'notification.retention', { 'notification.retention.batch_size': this.opts.batchSize }, (span) => this.deleteAll(session, due, span));
    } finally {
      // closing the session releases the lock
      await this.opts.knex.client.destroyRawConnection(session).catch(() => undefined);
    }
  }

  /** The enabled kinds that have at least one row to delete: one statement, untraced (the check). */
  private async dueKinds(session: PgSession, kinds: RetentionKind[]): Promise<RetentionKind[]> {
    // a scalar sub-select rather than EXISTS, which would drop the ORDER BY that keeps it on the index
    const columns = kinds.map((k, i) => `(${oldest(k, 'true', `$${i + 1}`, '1')}) AS ${k}`);
    const [row] = (await session.query<Record<RetentionKind, boolean | null>>(`SELECT ${columns.join(', ')}`, kinds.map((k) => this.opts.days[k]))).rows;
    return kinds.filter((k) => row?.[k] === true);
  }

  /** Each due kind in batches; the counts go on the span as they grow, so a failed run's span shows them too. */
  private async deleteAll(session: PgSession, kinds: RetentionKind[], span: Span): Promise<RetentionRun> {
    const deleted = zeros();
    const batches = zeros();
    const record = () =>
      span.setAttributes({
        'notification.retention.batches': RETENTION_KINDS.reduce((n, k) => n + batches[k], 0),
        ...Object.fromEntries(RETENTION_KINDS.map((k) => [`notification.retention.deleted.${k}`, deleted[k]])),
      });
    record();
    for (const kind of kinds) {
      while (!this.stopping) {
        const { rowCount } = await session.query(DELETE_SQL[kind], [this.opts.days[kind], this.opts.batchSize]);
        const n = rowCount ?? 0;
        batches[kind]++;
        deleted[kind] += n;
        if (n > 0) retentionDeletedTotal.inc({ kind }, n);
        record();
        if (n < this.opts.batchSize) break;
      }
    }
    return { outcome: 'deleted', deleted, batches };
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.current = this.runLogged().finally(() => {
        this.current = undefined;
        if (!this.stopping) this.schedule(this.opts.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async runLogged(): Promise<void> {
    try {
      const { outcome, deleted, batches } = await this.run();
      if (outcome === 'deleted') this.opts.logger.info({ deleted, batches }, 'retention: old rows deleted');
      else if (outcome === 'busy') this.opts.logger.debug({}, 'retention: another instance is running it');
    } catch (err) {
      this.opts.logger.warn({ err: errorText(err), nextRunInMs: this.opts.intervalMs }, 'retention run failed; rows deleted so far stay deleted, the rest at the next run');
    }
  }
}
