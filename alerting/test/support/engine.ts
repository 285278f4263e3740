// A dispatcher with its stores on a schema, configured from Alertmanager YAML, with recording integrations.
import { Registry } from 'prom-client';
import { parseAlertmanagerConfig } from '../../src/config/alertmanager.js';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { routesFromConfig } from '../../src/dispatch/routes.js';
import type { LabelSet } from '../../src/model/labels.js';
import { RetryableNotifyError, type Integration, type NotificationContext, type Evidence } from '../../src/model/notification.js';
import { suppressionFromConfig } from '../../src/notify/mute.js';
import type { PgStores } from '../../src/store/open.js';
import type { ManualClock } from './manual-clock.js';
import { quietLogger, storesOn } from './stores.js';

export interface Call {
  /** Virtual seconds since the clock's start. */
  at: number;
  integration: string;
  receiver: string;
  status: 'firing' | 'resolved';
  /** `id` label (else alertname) of the firing and resolved alerts sent. */
  firing: string[];
  resolved: string[];
  level: number;
  ctx: NotificationContext;
}

const nameOf = (l: LabelSet): string => l.id ?? l.alertname ?? '?';

/** An integration that records each notification; `failUntil` makes it fail (retryably) until that virtual second. */
export function recorder(opts: {
  name: string;
  calls: Call[];
  clock: ManualClock;
  sendResolved?: boolean;
  failUntil?: number;
  permanentFailure?: boolean;
  attempts?: number[];
}): Integration {
  return {
    name: opts.name,
    type: 'webhook',
    sendResolved: opts.sendResolved ?? true,
    async notify(ctx) {
      opts.attempts?.push(opts.clock.seconds);
      if (opts.failUntil !== undefined && opts.clock.seconds < opts.failUntil) {
        if (opts.permanentFailure) throw new Error('400 bad request');
        throw new RetryableNotifyError('503 unavailable');
      }
      const now = opts.clock.now().getTime();
      opts.calls.push({
        at: opts.clock.seconds,
        integration: opts.name,
        receiver: ctx.receiver,
        status: ctx.status,
        firing: ctx.alerts.filter((a) => a.endsAt.getTime() > now).map((a) => nameOf(a.labels)).sort(),
        resolved: ctx.alerts.filter((a) => a.endsAt.getTime() <= now).map((a) => nameOf(a.labels)).sort(),
        level: ctx.escalationLevel,
        ctx,
      });
    },
  };
}

export interface Engine {
  stores: PgStores;
  dispatcher: Dispatcher;
  registry: Registry;
  /** Stops the dispatcher (releasing the lease unless `crash`) and closes the stores. */
  stop(opts?: { crash?: boolean }): Promise<void>;
}

export async function startEngine(opts: {
  schema: string;
  yaml: string;
  clock: ManualClock;
  integrations: Record<string, Integration[]>;
  holder?: string;
  leaseTtlMs?: number;
  leaseRenewMs?: number;
  resolveTimeoutMs?: number;
  evidenceFor?: (alerts: unknown[]) => Promise<Evidence>;
}): Promise<Engine> {
  const config = parseAlertmanagerConfig(opts.yaml, 'test.yml');
  const stores = await storesOn(opts.schema, { resolveTimeoutMs: opts.resolveTimeoutMs ?? config.global.resolveTimeoutMs });
  const registry = new Registry();
  const dispatcher = new Dispatcher({
    stores,
    routesFor: routesFromConfig(config),
    notify: {
      suppression: suppressionFromConfig(config),
      integrationsFor: (r) => opts.integrations[r] ?? [],
      links: (groupKey) => ({ group: `http://lantern.test/#/groups/${encodeURIComponent(groupKey)}`, silence: 'http://lantern.test/#/silences/new', ack: 'http://lantern.test/ack/x' }),
      ...(opts.evidenceFor ? { evidenceFor: opts.evidenceFor } : {}),
      externalURL: 'http://lantern.test',
    },
    clock: opts.clock,
    holder: opts.holder ?? 'solo',
    leaseTtlMs: opts.leaseTtlMs ?? 60_000,
    ...(opts.leaseRenewMs ? { leaseRenewMs: opts.leaseRenewMs } : {}),
    registry,
    logger: quietLogger,
  });
  dispatcher.start();
  let stopped = false;
  return {
    stores,
    dispatcher,
    registry,
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      await dispatcher.stop({ release: !o.crash });
      await dispatcher.idle();
      await stores.close();
    },
  };
}

/** A route config: one receiver `r` (plus extra receivers), timers in Alertmanager syntax. */
export function amConfig(o: { wait: string; interval: string; repeat: string; groupBy?: string[]; extra?: string; receivers?: string[]; route?: string; resolveTimeout?: string }): string {
  const receivers = ['r', ...(o.receivers ?? [])].map((r) => `  - name: ${r}`).join('\n');
  return `global:
  resolve_timeout: ${o.resolveTimeout ?? '5m'}
route:
  receiver: r
  group_by: ${JSON.stringify(o.groupBy ?? ['alertname'])}
  group_wait: ${o.wait}
  group_interval: ${o.interval}
  repeat_interval: ${o.repeat}
${o.route ?? ''}
receivers:
${receivers}
${o.extra ?? ''}
`;
}
