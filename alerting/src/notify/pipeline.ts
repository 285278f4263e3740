// One flush of one aggregation group for one receiver, as Alertmanager's notify pipeline runs it:
// inhibit → time intervals → silences → per integration (ack check → dedup → retry → nflog write). The reads
// of the last stages (silences, the nflog entries, the acknowledgement) run together.
// Integrations run side by side: one failing (and retrying) does not hold back its siblings.
import type { Logger } from 'pino';
import { isResolved, type Alert } from '../model/alert.js';
import type { Clock } from '../model/clock.js';
import type { LabelSet } from '../model/labels.js';
import type { Evidence, Integration, NotificationContext } from '../model/notification.js';
import type { AckStore, Acknowledgement, AlertStore, NotificationLog, NotificationLogEntry, SilenceStore } from '../model/stores.js';
import type { NotifyMetrics } from '../dispatch/metrics.js';
import { checkAck } from './ack.js';
import { needsUpdate, type SendReason } from './dedup.js';
import { inhibitStage, silenceStage, timeIntervalStage, type RouteTiming, type Suppression } from './mute.js';
import { withRetry, type RetryOutcome } from './retry.js';

export type Links = NotificationContext['links'];

export interface PipelineOptions {
  stores: { alerts: AlertStore; silences: SilenceStore; nflog: NotificationLog; acks: AckStore };
  suppression: Suppression;
  /** The receiver's integrations (built by notify/integrations from the config). */
  integrationsFor(receiver: string): Integration[];
  /** Group page, silence form and signed ack link of a group. */
  links(groupKey: string, groupLabels: LabelSet): Links;
  /** Traces and logs for the alerts; default: none. */
  evidenceFor?(alerts: Alert[]): Promise<Evidence>;
  externalURL: string;
  clock: Clock;
  metrics: NotifyMetrics;
  logger: Logger;
  /** Backoff sleep (the dispatcher passes one its idle tracking understands). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface FlushRequest {
  groupKey: string;
  receiver: string;
  groupLabels: LabelSet;
  /** The group's alerts (firing and resolved) at the tick. */
  alerts: Alert[];
  /** The tick's time: every stage judges firing/resolved and repeat_interval against it. */
  now: Date;
  route: RouteTiming & { repeatIntervalMs: number };
  /** 0 for the route's receiver, n for the n-th escalation step. */
  escalationLevel: number;
  /** Aborts retries at the deadline (the group's group_interval). */
  signal: AbortSignal;
}

export interface IntegrationOutcome {
  integration: string;
  /** Undefined: dedup or the ack held it back. */
  reason?: SendReason;
  /** A message left (not counting "resolved only, send_resolved false", which is logged without sending). */
  sent: boolean;
  ok: boolean;
  error?: string;
}

export interface FlushResult {
  /** Every integration succeeded or had nothing to do: the group may drop the flushed resolved alerts. */
  ok: boolean;
  /** Some integration was sent firing alerts. */
  notifiedFiring: boolean;
  /** The alerts left after inhibition, time intervals and silences. */
  delivered: Alert[];
  /** fingerprint → what suppressed it (inhibiting fingerprints, time interval names, silence ids). */
  inhibited: Map<string, string[]>;
  muted: Map<string, string[]>;
  silenced: Map<string, string[]>;
  outcomes: IntegrationOutcome[];
  evidence?: Evidence;
}

const noEvidence = async (): Promise<Evidence> => ({ traces: [], logs: [], notes: [] });

/** A flush's evidence, gathered at most once for all its integrations. */
interface EvidenceOnce {
  alerts: Alert[];
  now: Date;
  promise?: Promise<Evidence>;
}

export class NotifyPipeline {
  /** A list of every alert already on its way: flushes starting meanwhile share it (see sources()). */
  private listing: Promise<Alert[]> | undefined;

  constructor(private readonly o: PipelineOptions) {}

  /**
   * The inhibition sources: every alert in the store. Without inhibit rules none are needed; otherwise
   * flushes that start while a list is in flight share it (a burst of groups flushing together — 10,000
   * after a mass alert — would each load the whole table). The shared list is at most one query older than
   * the flush, a lag AM's own inhibitor, fed asynchronously from its alert subscription, also has.
   */
  private sources(): Promise<Alert[]> {
    if (this.o.suppression.inhibits?.() === false) return Promise.resolve([]);
    this.listing ??= this.o.stores.alerts.list().finally(() => (this.listing = undefined));
    return this.listing;
  }

  async flush(req: FlushRequest): Promise<FlushResult> {
    const { now } = req;
    const all = await this.sources();
    const inh = inhibitStage(req.alerts, all, this.o.suppression, now);
    const mute = timeIntervalStage(inh.kept, req.route, this.o.suppression, now);
    const integrations = this.o.integrationsFor(req.receiver);
    // The notification log and the acknowledgement are read while the silences are (one round of batched
    // reads, not three); a failed read surfaces in its integration's outcome, as before.
    const prefetched = mute.kept.length > 0 ? this.prefetch(req, integrations) : undefined;
    const silences = mute.kept.length > 0 ? await this.o.stores.silences.list() : [];
    const sil = silenceStage(mute.kept, silences, this.o.suppression, now);
    const result: FlushResult = {
      ok: true,
      notifiedFiring: false,
      delivered: sortAlerts(sil.kept, now),
      inhibited: inh.suppressed,
      muted: mute.suppressed,
      silenced: sil.suppressed,
      outcomes: [],
    };
    // AM stops the pipeline when nothing is left: nothing sent, the nflog untouched.
    if (result.delivered.length === 0) return result;

    // gathered once, by the first integration that sends
    const evidence: EvidenceOnce = { alerts: result.delivered, now };
    result.outcomes = await Promise.all(integrations.map((i, n) => this.toIntegration(i, req, result.delivered, evidence, prefetched!.entries[n]!, prefetched!.ack)));
    result.ok = result.outcomes.every((x) => x.ok);
    result.notifiedFiring = result.outcomes.some((x) => x.sent && x.ok && x.reason !== 'all-resolved');
    if (evidence.promise) result.evidence = await evidence.promise;
    return result;
  }

  /**
   * Tells the receiver's integrations who acknowledged the group (Slack: "Acknowledged by X", in the group's
   * thread with a bot token; email: in the group's thread). It is a notice, not a notification: the nflog
   * and dedup are untouched, and a failure is logged, never retried past the request's signal.
   */
  async announceAck(req: FlushRequest, by: string): Promise<void> {
    const firing = req.alerts.filter((a) => !isResolved(a, req.now));
    if (firing.length === 0) return;
    const ctx = this.context(req, sortAlerts(firing, req.now), await noEvidence(), by);
    delete ctx.links.ack;
    await Promise.all(
      this.o.integrationsFor(req.receiver).map(async (integration) => {
        const outcome = await this.send(integration, ctx, req);
        if (!outcome.ok) this.o.logger.warn({ groupKey: req.groupKey, integration: integration.name, err: outcome.error.message }, 'acknowledgement notice failed');
      }),
    );
  }

  /** One message through the retry stage (bounded by the request's signal), timed and counted. */
  private async send(integration: Integration, ctx: NotificationContext, req: FlushRequest): Promise<RetryOutcome> {
    const started = performance.now();
    const outcome = await withRetry((signal) => integration.notify(ctx, signal), {
      clock: this.o.clock,
      signal: req.signal,
      ...(this.o.sleep ? { sleep: this.o.sleep } : {}),
    });
    this.o.metrics.latency.observe({ integration: integration.type }, (performance.now() - started) / 1000);
    if (outcome.ok) this.o.metrics.notifications.inc({ integration: integration.type });
    else this.o.metrics.failed.inc({ integration: integration.type, reason: outcome.permanent ? 'clientError' : 'serverError' });
    return outcome;
  }

  /** Each integration's nflog entry and the group's acknowledgement, read now, awaited by toIntegration. */
  private prefetch(req: FlushRequest, integrations: Integration[]): { entries: Promise<NotificationLogEntry | undefined>[]; ack: Promise<Acknowledgement | undefined> } {
    const entries = integrations.map((i) => this.o.stores.nflog.get(req.groupKey, req.receiver, i.name));
    const ack = this.o.stores.acks.get(req.groupKey);
    // not awaited when everything was silenced: a failure then is of no consequence
    for (const p of [...entries, ack]) p.catch(() => undefined);
    return { entries, ack };
  }

  private async toIntegration(
    integration: Integration,
    req: FlushRequest,
    alerts: Alert[],
    evidence: EvidenceOnce,
    nflogEntry: Promise<NotificationLogEntry | undefined>,
    acknowledgement: Promise<Acknowledgement | undefined>,
  ): Promise<IntegrationOutcome> {
    const { now } = req;
    const firing = new Set(alerts.filter((a) => !isResolved(a, now)).map((a) => a.fingerprint));
    const resolved = new Set(alerts.filter((a) => isResolved(a, now)).map((a) => a.fingerprint));
    const base = { integration: integration.name };
    try {
      const [entry, acknowledged] = await Promise.all([nflogEntry, acknowledgement]);
      const reason = needsUpdate({ entry, firing, resolved, sendResolved: integration.sendResolved, repeatIntervalMs: req.route.repeatIntervalMs, now });
      const ack = await checkAck({ acks: this.o.stores.acks, groupKey: req.groupKey, ack: acknowledged, entry, firing, reason });
      if (!reason || ack.holdBack) return { ...base, sent: false, ok: true };

      // AM RetryStage: without send_resolved only firing alerts go out, and a flush of resolved alerts
      // only is "sent" without a message (the nflog still records it, so the next dedup is right).
      const toSend = integration.sendResolved ? alerts : alerts.filter((a) => firing.has(a.fingerprint));
      let sent = false;
      if (toSend.length > 0) {
        const ctx = this.context(req, toSend, await (evidence.promise ??= this.gatherEvidence(evidence.alerts, evidence.now)), ack.ack?.by);
        const outcome = await this.send(integration, ctx, req);
        if (!outcome.ok) {
          this.o.logger.warn(
            { groupKey: req.groupKey, receiver: req.receiver, integration: integration.name, attempts: outcome.attempts, err: outcome.error.message },
            outcome.permanent ? 'notification failed (not retryable)' : 'notification failed; retrying at the next group_interval tick',
          );
          return { ...base, reason, sent: false, ok: false, error: outcome.error.message };
        }
        sent = true;
      }
      await this.o.stores.nflog.log({
        groupKey: req.groupKey,
        receiver: req.receiver,
        integration: integration.name,
        firing: [...firing],
        resolved: [...resolved],
        sentAt: now,
      });
      return { ...base, reason, sent, ok: true };
    } catch (err) {
      // A store failure: the next tick retries (the nflog was not written, so nothing is lost).
      this.o.logger.error({ groupKey: req.groupKey, integration: integration.name, err: (err as Error).message }, 'notify stage failed');
      return { ...base, sent: false, ok: false, error: (err as Error).message };
    }
  }

  private context(req: FlushRequest, alerts: Alert[], evidence: Evidence, acknowledgedBy: string | undefined): NotificationContext {
    const firing = alerts.some((a) => !isResolved(a, req.now));
    const links = { ...this.o.links(req.groupKey, req.groupLabels) };
    if (!firing) delete links.ack;
    return {
      receiver: req.receiver,
      groupKey: req.groupKey,
      groupLabels: req.groupLabels,
      commonLabels: common(alerts.map((a) => a.labels)),
      commonAnnotations: common(alerts.map((a) => a.annotations)),
      status: firing ? 'firing' : 'resolved',
      alerts,
      externalURL: this.o.externalURL,
      links,
      evidence,
      escalationLevel: req.escalationLevel,
      ...(acknowledgedBy !== undefined ? { acknowledgedBy } : {}),
    };
  }

  private async gatherEvidence(alerts: Alert[], now: Date): Promise<Evidence> {
    const firing = alerts.filter((a) => !isResolved(a, now));
    try {
      return await (this.o.evidenceFor ?? noEvidence)(firing.length > 0 ? firing : alerts);
    } catch (err) {
      // Evidence is a bonus: a notification without it beats no notification.
      return { traces: [], logs: [], notes: [`evidence unavailable: ${(err as Error).message}`] };
    }
  }
}

/** Labels (or annotations) every alert has with the same value. */
export function common(sets: LabelSet[]): LabelSet {
  if (sets.length === 0) return {};
  const out: LabelSet = { ...sets[0] };
  for (const s of sets.slice(1)) for (const k of Object.keys(out)) if (s[k] !== out[k]) delete out[k];
  return out;
}

/** Firing first, then by start time and fingerprint (stable across flushes). */
export function sortAlerts(alerts: Alert[], now: Date): Alert[] {
  return [...alerts].sort((a, b) => {
    const ra = isResolved(a, now) ? 1 : 0;
    const rb = isResolved(b, now) ? 1 : 0;
    return ra - rb || a.startsAt.getTime() - b.startsAt.getTime() || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
  });
}
