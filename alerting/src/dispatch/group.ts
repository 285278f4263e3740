// One aggregation group and its timers, as Alertmanager's aggrGroup runs them: the first flush after
// group_wait (at once when an alert's startsAt + group_wait has passed), then a tick every group_interval,
// the timer reset before each flush. Flushes of one group never overlap: a tick during a flush runs after it.
import type { Alert } from '../model/alert.js';
import type { Clock } from '../model/clock.js';
import type { LabelSet } from '../model/labels.js';
import type { GroupState } from '../store/groups.js';
import type { DispatchRoute } from './routes.js';

export interface GroupHooks {
  /** Runs one flush (the notify pipeline and its bookkeeping); `now` is the tick's time. */
  flush(group: AggregationGroup, now: Date): Promise<void>;
  /** Wraps timer callbacks so the work they start is tracked. */
  track(fn: () => Promise<void>): void;
}

export class AggregationGroup {
  readonly alerts = new Map<string, Alert>();
  /** Aborted when the group stops (leadership lost, shutdown): in-flight retries end. */
  readonly stopped = new AbortController();
  /** The signals of the flushes in progress, aborted by stop() (a set, not a listener per flush on `stopped`). */
  private readonly flushSignals = new Set<AbortController>();
  private timer: { clear(): void } | undefined;
  private hasFlushed: boolean;
  private flushing = false;
  private pendingTick: Date | undefined;

  constructor(
    readonly key: string,
    readonly route: DispatchRoute,
    readonly labels: LabelSet,
    public state: GroupState,
    private readonly clock: Clock,
    private readonly hooks: GroupHooks,
  ) {
    this.hasFlushed = state.lastFlushAt !== undefined;
  }

  /** Schedules the next tick from the persisted state: resume group_interval after the last tick, else group_wait from creation. */
  start(): void {
    const now = this.clock.now().getTime();
    const due = this.state.lastFlushAt
      ? this.state.lastFlushAt.getTime() + this.route.groupIntervalMs
      : this.state.createdAt.getTime() + this.route.groupWaitMs;
    this.schedule(Math.max(0, due - now));
  }

  insert(alert: Alert): void {
    this.alerts.set(alert.fingerprint, alert);
    // An alert that started longer than group_wait ago goes out at once (AM aggrGroup.insert).
    if (!this.hasFlushed && alert.startsAt.getTime() + this.route.groupWaitMs < this.clock.now().getTime()) this.schedule(0);
  }

  /** Removes the flushed resolved alerts unless they changed during the flush (AM DeleteIfNotModified). */
  deleteIfNotModified(resolved: readonly Alert[]): void {
    for (const a of resolved) {
      const cur = this.alerts.get(a.fingerprint);
      if (cur && cur.updatedAt.getTime() === a.updatedAt.getTime() && cur.endsAt.getTime() === a.endsAt.getTime()) this.alerts.delete(a.fingerprint);
    }
  }

  get empty(): boolean {
    return this.alerts.size === 0;
  }

  stop(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.stopped.abort();
    for (const c of this.flushSignals) c.abort();
    this.flushSignals.clear();
  }

  /** A controller for one flush (its deadline is the caller's), aborted if the group stops; pass it to endFlush(). */
  beginFlush(): AbortController {
    const c = new AbortController();
    if (this.stopped.signal.aborted) c.abort();
    else this.flushSignals.add(c);
    return c;
  }

  endFlush(c: AbortController): void {
    this.flushSignals.delete(c);
  }

  private schedule(ms: number): void {
    if (this.stopped.signal.aborted) return;
    this.timer?.clear();
    this.timer = this.clock.setTimeout(() => this.tick(), ms);
  }

  private tick(): void {
    const now = this.clock.now();
    // Reset before flushing: ticks stay on group_wait + k·group_interval whatever the flush takes.
    this.schedule(this.route.groupIntervalMs);
    this.hasFlushed = true;
    if (this.flushing) {
      this.pendingTick = now;
      return;
    }
    this.hooks.track(() => this.runFlush(now));
  }

  private async runFlush(now: Date): Promise<void> {
    this.flushing = true;
    try {
      let at: Date | undefined = now;
      while (at && !this.stopped.signal.aborted) {
        this.pendingTick = undefined;
        await this.hooks.flush(this, at);
        at = this.pendingTick;
      }
    } finally {
      this.flushing = false;
    }
  }
}
