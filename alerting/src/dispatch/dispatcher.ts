// The dispatcher (Alertmanager dispatch.go) on a leader lease: only the replica holding the lease keeps
// aggregation groups and notifies. Gaining the lease rebuilds the groups from the alert store, the
// persisted group timers and the nflog, so a failover or restart neither loses nor repeats a notification.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { isResolved, type Alert, type AlertStatus } from '../model/alert.js';
import { systemClock, type Clock } from '../model/clock.js';
import type { Evidence } from '../model/notification.js';
import type { Stores } from '../model/stores.js';
import { escalates, nextStep } from '../notify/escalation.js';
import { NotifyPipeline, type FlushRequest, type FlushResult, type PipelineOptions } from '../notify/pipeline.js';
import type { GroupStateStore } from '../store/groups.js';
import { AggregationGroup, type GroupHooks } from './group.js';
import { dispatchMetrics, type DispatchMetrics } from './metrics.js';
import type { DispatchRoute, RoutesFor } from './routes.js';
import { WorkTracker } from './work.js';

export interface DispatcherOptions {
  stores: Stores & { groups: GroupStateStore };
  /** The routes an alert takes (dispatch/route.ts over the config's route tree). */
  routesFor: RoutesFor;
  /** Suppression rules, integrations, links, evidence and the external URL for the notify pipeline. */
  notify: Omit<PipelineOptions, 'stores' | 'clock' | 'metrics' | 'logger' | 'sleep'>;
  clock?: Clock;
  /** This replica's name on the lease. Default: hostname:pid. */
  holder?: string;
  /** How long a lease lasts without renewal (the failover delay). Default 15 s. */
  leaseTtlMs?: number;
  /** How often the lease is renewed (or sought). Default ttl / 3. */
  leaseRenewMs?: number;
  registry?: Registry;
  logger: Logger;
}

/** One group as the API shows it (api/deps.ts AlertGroupView). */
export interface GroupView {
  groupKey: string;
  labels: Record<string, string>;
  routeLabels: Record<string, string>;
  receiver: string;
  alerts: Alert[];
  evidence?: Evidence;
}

/** The mark of an alert nothing suppressed at its last flush (frozen: shared by every such alert). */
const NOT_SUPPRESSED = Object.freeze({ inhibitedBy: Object.freeze([]) as unknown as string[], mutedBy: Object.freeze([]) as unknown as string[], silencedBy: Object.freeze([]) as unknown as string[] });

export class Dispatcher {
  private readonly clock: Clock;
  private readonly holder: string;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly work = new WorkTracker();
  private readonly metrics: DispatchMetrics;
  private readonly pipeline: NotifyPipeline;
  private readonly groups = new Map<string, AggregationGroup>();
  /** Serialises changes to the group map (ingest, rebuild, removal), which await the group-state store. */
  private queue: Promise<void> = Promise.resolve();
  private leader = false;
  private leaderUntil = 0;
  private running = false;
  private leaseTimer: { clear(): void } | undefined;
  private unsubscribe: (() => void) | undefined;
  private escalationTimers = new Map<string, { clear(): void }>();
  /** Suppression found at the last flush, per fingerprint (for the API's alert status and alertmanager_alerts). */
  private readonly marks = new Map<string, { inhibitedBy: string[]; mutedBy: string[]; silencedBy: string[] }>();
  private readonly evidence = new Map<string, Evidence>();
  /** What every aggregation group calls back (one object for all groups). */
  private readonly groupHooks: GroupHooks = {
    flush: (group, at) => this.flushGroup(group, at),
    track: (fn) => void this.track(fn),
  };

  constructor(private readonly o: DispatcherOptions) {
    this.clock = o.clock ?? systemClock;
    this.holder = o.holder ?? `${hostname()}:${process.pid}`;
    this.ttlMs = o.leaseTtlMs ?? 15_000;
    this.renewMs = o.leaseRenewMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.metrics = dispatchMetrics(o.registry ?? new Registry(), () => this.alertCounts());
    this.pipeline = new NotifyPipeline({
      ...o.notify,
      stores: o.stores,
      clock: this.clock,
      metrics: this.metrics,
      logger: o.logger,
      sleep: (ms, signal) => this.work.sleep(this.clock, ms, signal),
    });
  }

  /** Subscribes to alert changes and starts seeking the lease. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.o.stores.alerts.subscribe((alerts) => {
      if (this.leader) this.enqueue(() => this.ingest(alerts));
    });
    this.metrics.leader.set(0);
    this.leaseTick();
  }

  /**
   * Stops timers and in-flight retries. `release: false` leaves the lease to expire, as a crash would
   * (tests use it to stage a failover).
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.leaseTimer?.clear();
    this.dropLeadership();
    // Let a lease call in flight land first, so the release is not overtaken by it.
    await this.idle();
    if (opts.release !== false) await this.o.stores.lease.release(this.holder).catch(() => undefined);
  }

  /** Resolves when nothing started is still running (work waiting on the clock, like a retry backoff, excepted). */
  async idle(): Promise<void> {
    for (;;) {
      await this.work.idle();
      const q = this.queue;
      await q;
      if (q === this.queue) {
        await this.work.idle();
        if (q === this.queue) return;
      }
    }
  }

  isLeader(): boolean {
    return this.leader && this.clock.now().getTime() < this.leaderUntil;
  }

  /** The groups this replica holds (none unless it leads). */
  groupsView(): GroupView[] {
    return [...this.groups.values()].map((g) => ({
      groupKey: g.key,
      labels: g.labels,
      routeLabels: g.route.routeLabels ?? {},
      receiver: g.route.receiver,
      alerts: [...g.alerts.values()],
      ...(this.evidence.has(g.key) ? { evidence: this.evidence.get(g.key)! } : {}),
    }));
  }

  /** Inhibition and time-interval state found at the alert's last flush (silences are the API's own). */
  status(alert: Alert): Partial<AlertStatus> | undefined {
    const m = this.marks.get(alert.fingerprint);
    if (!m) return undefined;
    const suppressed = m.inhibitedBy.length + m.mutedBy.length + m.silencedBy.length > 0;
    return { state: suppressed ? 'suppressed' : 'active', inhibitedBy: m.inhibitedBy, mutedBy: m.mutedBy, silencedBy: m.silencedBy };
  }

  /** Applies a new route tree (config reload): groups are rebuilt; persisted timers and the nflog carry over. */
  reload(routesFor: RoutesFor): void {
    this.o.routesFor = routesFor;
    if (!this.leader) return;
    this.enqueue(async () => {
      this.stopGroups();
      await this.rebuild();
    });
  }

  // ---- leadership ----

  private leaseTick(): void {
    if (!this.running) return;
    this.track(async () => {
      const startedAt = this.clock.now();
      let held: boolean | undefined;
      try {
        held = await this.o.stores.lease.tryAcquire(this.holder, this.ttlMs, startedAt);
      } catch (err) {
        // Keep leading until the lease we hold runs out; isLeader() stops flushes after that.
        this.o.logger.warn({ err: (err as Error).message }, 'could not renew the dispatcher lease');
      }
      if (!this.running) return;
      if (held === true) {
        this.leaderUntil = startedAt.getTime() + this.ttlMs;
        if (!this.leader) {
          this.leader = true;
          this.metrics.leader.set(1);
          this.o.logger.info({ holder: this.holder }, 'took the dispatcher lease: this replica now sends notifications');
          this.enqueue(() => this.rebuild());
        }
      } else if (held === false && this.leader) {
        this.o.logger.warn({ holder: this.holder }, 'lost the dispatcher lease: this replica stops sending notifications');
        this.dropLeadership();
      }
      this.leaseTimer = this.clock.setTimeout(() => this.leaseTick(), this.renewMs);
    });
  }

  private dropLeadership(): void {
    this.leader = false;
    this.leaderUntil = 0;
    this.metrics.leader.set(0);
    this.stopGroups();
  }

  private stopGroups(): void {
    for (const g of this.groups.values()) g.stop();
    this.groups.clear();
    for (const t of this.escalationTimers.values()) t.clear();
    this.escalationTimers.clear();
    this.metrics.groups.set(0);
  }

  // ---- groups ----

  /** Rebuilds groups from the store: firing alerts, plus resolved ones some integration was told were firing. */
  private async rebuild(): Promise<void> {
    if (!this.leader) return;
    const now = this.clock.now();
    const [alerts, states] = await Promise.all([this.o.stores.alerts.list(), this.o.stores.groups.list()]);
    const stateByKey = new Map(states.map((s) => [s.groupKey, s]));
    const wanted = new Map<string, { route: DispatchRoute; alerts: Alert[]; labels: Record<string, string> }>();
    for (const a of alerts) {
      for (const route of this.o.routesFor(a.labels)) {
        const key = route.groupKey(a.labels);
        if (isResolved(a, now) && !(stateByKey.has(key) && (await this.toldFiring(key, route.receiver, a.fingerprint)))) continue;
        const w = wanted.get(key) ?? { route, alerts: [], labels: route.groupLabels(a.labels) };
        w.alerts.push(a);
        wanted.set(key, w);
      }
    }
    for (const [key, w] of wanted) {
      if (!this.leader) return;
      const g = await this.groupFor(key, w.route, w.labels, now);
      for (const a of w.alerts) g.insert(a);
    }
    // Groups of the previous leader that have nothing left (or whose route no longer exists).
    for (const s of states) if (!wanted.has(s.groupKey)) await this.o.stores.groups.delete(s.groupKey);
    this.o.logger.info({ groups: this.groups.size, alerts: alerts.length }, 'dispatcher groups rebuilt from the store');
  }

  private async toldFiring(groupKey: string, receiver: string, fp: string): Promise<boolean> {
    for (const i of this.o.notify.integrationsFor(receiver)) {
      const e = await this.o.stores.nflog.get(groupKey, receiver, i.name);
      if (e?.firing.includes(fp)) return true;
    }
    return false;
  }

  private async ingest(alerts: Alert[]): Promise<void> {
    if (!this.leader) return;
    const now = this.clock.now();
    // Alerts of existing groups go in at once; new groups are created together (their state rows are one
    // batched INSERT), then take their alerts in the order they came.
    const fresh = new Map<string, { route: DispatchRoute; labels: Record<string, string>; alerts: Alert[] }>();
    for (const a of alerts) {
      for (const route of this.o.routesFor(a.labels)) {
        const key = route.groupKey(a.labels);
        const existing = this.groups.get(key);
        const pending = fresh.get(key);
        if (existing) existing.insert(a);
        else if (pending) pending.alerts.push(a);
        // A new group for an alert that is already resolved would never send anything (AM dedup).
        else if (!isResolved(a, now)) fresh.set(key, { route, labels: route.groupLabels(a.labels), alerts: [a] });
      }
    }
    const created = await Promise.all([...fresh].map(([key, f]) => this.groupFor(key, f.route, f.labels, now)));
    [...fresh.values()].forEach((f, i) => {
      for (const a of f.alerts) created[i]!.insert(a);
    });
  }

  private async groupFor(key: string, route: DispatchRoute, labels: Record<string, string>, now: Date): Promise<AggregationGroup> {
    const have = this.groups.get(key);
    if (have) return have;
    const state = await this.o.stores.groups.create({ groupKey: key, receiver: route.receiver, createdAt: now, escalationLevel: 0 });
    const g = new AggregationGroup(key, route, labels, state, this.clock, this.groupHooks);
    this.groups.set(key, g);
    this.metrics.groups.set(this.groups.size);
    g.start();
    this.scheduleEscalation(g);
    return g;
  }

  private async flushGroup(g: AggregationGroup, now: Date): Promise<void> {
    if (!this.isLeaderAt(now) || g.stopped.signal.aborted) return;
    const alerts = [...g.alerts.values()];
    if (alerts.length === 0) return;
    g.state = { ...g.state, lastFlushAt: now, firstFlushAt: g.state.firstFlushAt ?? now };
    // The tick is stored while the pipeline runs, not before it: no round trip before the notification goes
    // out. A crash before it lands resumes the group from group_wait, and the nflog keeps that from repeating.
    const stored = this.o.stores.groups.update(g.key, { lastFlushAt: now, firstFlushAt: g.state.firstFlushAt });
    stored.catch(() => undefined); // awaited below; until then a failure must not count as unhandled
    let res: FlushResult;
    try {
      res = await this.runPipeline(g, g.route.receiver, 0, alerts, now);
    } finally {
      await stored;
    }
    if (!res.ok) return; // resolved alerts stay for the next tick
    const firing = alerts.filter((a) => !isResolved(a, now));
    if (firing.length === 0) {
      // The episode is over: escalated receivers hear of the resolve, the acknowledgement ends.
      for (let level = 1; level <= g.state.escalationLevel; level++) {
        const step = g.route.escalation[level - 1];
        if (step) await this.runPipeline(g, step.receiver, level, alerts, now);
      }
      await this.o.stores.acks.clear(g.key);
    } else if (res.notifiedFiring && !g.state.firstNotifiedAt) {
      g.state = { ...g.state, firstNotifiedAt: now };
      await this.o.stores.groups.update(g.key, { firstNotifiedAt: now });
      this.scheduleEscalation(g);
    }
    const resolved = alerts.filter((a) => isResolved(a, now));
    // Nothing resolved: nothing to drop, and the group cannot have become empty (alerts only leave here).
    if (resolved.length > 0) this.enqueue(async () => {
      g.deleteIfNotModified(resolved);
      if (g.empty && this.groups.get(g.key) === g) {
        g.stop();
        this.groups.delete(g.key);
        this.clearEscalation(g.key);
        this.evidence.delete(g.key);
        this.metrics.groups.set(this.groups.size);
        await this.o.stores.groups.delete(g.key);
      }
    });
    // without escalation steps there is nothing to take or schedule
    if (g.route.escalation.length > 0) await this.escalate(g, now);
  }

  private async runPipeline(g: AggregationGroup, receiver: string, level: number, alerts: Alert[], now: Date): Promise<FlushResult> {
    const res = await this.withDeadline(g, (signal) => this.pipeline.flush(this.flushRequest(g, receiver, level, alerts, now, signal)));
    if (level === 0) this.mark(alerts, res);
    // kept for the page and the API; a group without any evidence keeps none (most groups, after a burst)
    if (res.evidence && res.evidence.traces.length + res.evidence.logs.length + res.evidence.notes.length > 0) this.evidence.set(g.key, res.evidence);
    else if (res.evidence) this.evidence.delete(g.key);
    return res;
  }

  /** Retries end at the next tick (AM: the flush's context times out after group_interval) or when the group stops. */
  private async withDeadline<T>(g: AggregationGroup, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // one controller for both ends, which the group aborts if it stops (no AbortSignal.any, which keeps a weak
    // reference per flush on the long-lived group signal, and no listener per flush)
    const deadline = g.beginFlush();
    const timer = this.clock.setTimeout(() => deadline.abort(), g.route.groupIntervalMs);
    try {
      return await fn(deadline.signal);
    } finally {
      timer.clear();
      g.endFlush(deadline);
    }
  }

  private flushRequest(g: AggregationGroup, receiver: string, level: number, alerts: Alert[], now: Date, signal: AbortSignal): FlushRequest {
    return {
      groupKey: g.key,
      receiver,
      groupLabels: g.labels,
      alerts,
      now,
      route: { muteTimeIntervals: g.route.muteTimeIntervals, activeTimeIntervals: g.route.activeTimeIntervals, repeatIntervalMs: g.route.repeatIntervalMs },
      escalationLevel: level,
      signal,
    };
  }

  /**
   * Sends the acknowledgement notice of a group to its receiver and to every escalation step it reached.
   * Only the leader sends; false when this replica does not lead or holds no such group (the ack itself is
   * stored either way, so repeats stop).
   */
  async announceAck(groupKey: string, by: string): Promise<boolean> {
    const g = this.groups.get(groupKey);
    const now = this.clock.now();
    if (!g || !this.isLeaderAt(now)) return false;
    const alerts = [...g.alerts.values()];
    await this.track(async () => {
      for (let level = 0; level <= g.state.escalationLevel; level++) {
        const receiver = level === 0 ? g.route.receiver : g.route.escalation[level - 1]?.receiver;
        if (receiver) await this.withDeadline(g, (signal) => this.pipeline.announceAck(this.flushRequest(g, receiver, level, alerts, now, signal), by));
      }
    });
    return true;
  }

  private mark(alerts: Alert[], res: FlushResult): void {
    for (const a of alerts) {
      const inhibitedBy = res.inhibited.get(a.fingerprint);
      const mutedBy = res.muted.get(a.fingerprint);
      const silencedBy = res.silenced.get(a.fingerprint);
      // most alerts are not suppressed: they share one mark (readers copy the lists: api/v2/suppression.ts)
      this.marks.set(a.fingerprint, inhibitedBy || mutedBy || silencedBy ? { inhibitedBy: inhibitedBy ?? [], mutedBy: mutedBy ?? [], silencedBy: silencedBy ?? [] } : NOT_SUPPRESSED);
    }
  }

  // ---- escalation ----

  private scheduleEscalation(g: AggregationGroup): void {
    this.clearEscalation(g.key);
    const due = nextStep(g.route.escalation, g.state);
    if (!due) return;
    const ms = Math.max(0, due.dueAt.getTime() - this.clock.now().getTime());
    this.escalationTimers.set(
      g.key,
      this.clock.setTimeout(() => {
        this.escalationTimers.delete(g.key);
        this.track(() => this.escalate(g, this.clock.now()));
      }, ms),
    );
  }

  private clearEscalation(key: string): void {
    this.escalationTimers.get(key)?.clear();
    this.escalationTimers.delete(key);
  }

  /** Takes every step that is due while the group is firing critical, unacknowledged and still ours. */
  private async escalate(g: AggregationGroup, now: Date): Promise<void> {
    for (;;) {
      const due = nextStep(g.route.escalation, g.state);
      if (!due || due.dueAt.getTime() > now.getTime()) break;
      if (!this.isLeaderAt(now) || g.stopped.signal.aborted || this.groups.get(g.key) !== g) return;
      if (!escalates(g.alerts.values(), now)) return;
      if (await this.o.stores.acks.get(g.key)) return;
      const firing = [...g.alerts.values()].filter((a) => !isResolved(a, now));
      const res = await this.runPipeline(g, due.step.receiver, due.level, firing, now);
      // Fully suppressed (silenced, muted) or failed: not escalated yet; the next tick looks again.
      if (!res.notifiedFiring) return;
      g.state = { ...g.state, escalationLevel: due.level };
      await this.o.stores.groups.update(g.key, { escalationLevel: due.level });
      this.o.logger.info({ groupKey: g.key, level: due.level, receiver: due.step.receiver }, 'escalated');
    }
    if (this.groups.get(g.key) === g && !g.stopped.signal.aborted) this.scheduleEscalation(g);
  }

  // ---- plumbing ----

  private isLeaderAt(now: Date): boolean {
    return this.leader && now.getTime() < this.leaderUntil;
  }

  private track(fn: () => Promise<void>): Promise<void> {
    return this.work.run(fn).catch((err: Error) => this.o.logger.error({ err: err.message }, 'dispatcher task failed'));
  }

  private enqueue(fn: () => Promise<void>): void {
    const next = this.queue.then(() => this.track(fn));
    this.queue = next;
  }

  private async alertCounts(): Promise<{ active: number; suppressed: number }> {
    const now = this.clock.now();
    const firing = (await this.o.stores.alerts.list()).filter((a) => !isResolved(a, now));
    const suppressed = firing.filter((a) => this.status(a)?.state === 'suppressed').length;
    return { active: firing.length - suppressed, suppressed };
  }
}
