// The composition root: stores → rule manager → dispatcher → notify pipeline → integrations, the API and
// the page on one port. Reload (SIGHUP, POST /-/reload) re-reads the Alertmanager config and the rule
// files; a bad file is refused whole and the running config kept.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApi } from './api/app.js';
import { configView, dispatcherView, ruleManagerView } from './api/config-view.js';
import { loadAlertmanagerConfigFile, type AlertmanagerConfig } from './config/alertmanager.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { routesFromConfig, type RoutesFor } from './dispatch/routes.js';
import { createEvidenceSource } from './evidence/source.js';
import type { LogSourceConfig } from './evidence/logs.js';
import type { Alert } from './model/alert.js';
import { systemClock, type Clock } from './model/clock.js';
import type { LabelSet } from './model/labels.js';
import type { Integration } from './model/notification.js';
import { integrationsFor } from './notify/integrations/build.js';
import { DEFAULT_SLACK_QUEUE, SlackQueues, queueMetrics } from './notify/integrations/slack-queue.js';
import { groupPageUrl, signAckLink, silenceFormUrl } from './notify/links.js';
import { suppressionFromConfig, type Suppression } from './notify/mute.js';
import type { RouteTiming } from './notify/mute.js';
import { RuleManager } from './rules/manager.js';
import { LocalSlackSink } from './sink/local-slack.js';
import { openStores, type PgStores } from './store/open.js';
import type { BasicAuthConfig } from './api/auth.js';

export interface EngineOptions {
  listen: { host: string; port: number };
  /** The engine's public URL: links in messages (page, silence form, ack) point here. */
  externalURL: string;
  alertmanagerConfigFile: string;
  /** Prometheus rule files (globs allowed in the file name); none = only alerts posted on the API. */
  ruleFiles: string[];
  prometheusUrl: string;
  evaluationIntervalMs: number;
  /** Rule queries in flight at most (RuleManager queryConcurrency). Default 16. */
  queryConcurrency?: number;
  databaseUrl: string;
  schema: string;
  /** Signs acknowledgement links and the page's CSRF tokens (≥ 32 chars). Never logged. */
  ackSecret: string;
  /** Where example traces open, e.g. http://127.0.0.1:16686/trace/{traceId}. */
  traceUrl?: string;
  logs?: LogSourceConfig;
  /** Accept Slack webhook posts at /local/slack/:channel and show them on the page (local runs). */
  localSlackSink: boolean;
  /** This replica's name on the dispatcher lease. */
  replica: string;
  leaseTtlMs: number;
  basicAuth?: BasicAuthConfig;
  logger: Logger;
  clock?: Clock;
}

export interface Engine {
  url: string;
  reload(): Promise<void>;
  stop(): Promise<void>;
  readonly stores: PgStores;
  readonly dispatcher: Dispatcher;
  readonly rules: RuleManager;
}

/** Resolved alerts and notification-log entries are kept this long, then deleted. */
const RETENTION_MS = 24 * 3600_000;
const GC_INTERVAL_MS = 10 * 60_000;

export async function startEngine(o: EngineOptions): Promise<Engine> {
  const clock = o.clock ?? systemClock;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let config = await loadAlertmanagerConfigFile(o.alertmanagerConfigFile);
  const stores = await openStores({ databaseUrl: o.databaseUrl, schema: o.schema, resolveTimeoutMs: config.global.resolveTimeoutMs, logger: o.logger });
  const slackQueues = new SlackQueues(DEFAULT_SLACK_QUEUE, clock, queueMetrics(registry));
  let integrations = buildIntegrations(config, { clock, slackQueues, nflog: stores.nflog });
  let suppression = suppressionFromConfig(config);
  let routesFor: RoutesFor = routesFromConfig(config);
  const evidence = createEvidenceSource({ prometheusUrl: o.prometheusUrl, ...(o.traceUrl ? { traceUrl: o.traceUrl } : {}), ...(o.logs ? { logs: o.logs } : {}), now: () => clock.now() });

  // The dispatcher keeps these objects; they delegate to whatever the last (re)load built.
  const currentSuppression: Suppression = {
    inhibitedBy: (target: Alert, firing: readonly Alert[], now: Date) => suppression.inhibitedBy(target, firing, now),
    mutedBy: (route: RouteTiming, now: Date) => suppression.mutedBy(route, now),
    silencedBy: (labels, silences, now) => suppression.silencedBy(labels, silences, now),
    inhibits: () => suppression.inhibits?.() ?? true,
  };
  const dispatcher = new Dispatcher({
    stores,
    routesFor,
    notify: {
      suppression: currentSuppression,
      integrationsFor: (receiver) => integrations.get(receiver) ?? [],
      links: (groupKey: string, groupLabels: LabelSet) => ({
        group: groupPageUrl(o.externalURL, groupKey),
        silence: silenceFormUrl(o.externalURL, groupLabels),
        ack: signAckLink(groupKey, { externalURL: o.externalURL, secret: o.ackSecret, now: clock.now() }),
      }),
      evidenceFor: (alerts) => evidence.evidenceFor(alerts),
      externalURL: o.externalURL,
    },
    clock,
    holder: o.replica,
    leaseTtlMs: o.leaseTtlMs,
    registry,
    logger: o.logger,
  });

  const rules = new RuleManager({
    files: o.ruleFiles,
    prometheusUrl: o.prometheusUrl,
    externalUrl: o.prometheusUrl,
    sink: { send: async (alerts) => void (await stores.alerts.put(alerts, clock.now())) },
    clock,
    logger: o.logger,
    registry,
    evaluationIntervalMs: o.evaluationIntervalMs,
    ...(o.queryConcurrency ? { queryConcurrency: o.queryConcurrency } : {}),
  });
  await rules.load();

  const reload = async (): Promise<void> => {
    // everything is validated before anything is swapped: a bad file leaves the running engine as it was
    const next = await loadAlertmanagerConfigFile(o.alertmanagerConfigFile);
    const nextIntegrations = buildIntegrations(next, { clock, slackQueues, nflog: stores.nflog });
    await rules.load();
    config = next;
    integrations = nextIntegrations;
    suppression = suppressionFromConfig(next);
    routesFor = routesFromConfig(next);
    dispatcher.reload(routesFor);
    o.logger.info({ file: o.alertmanagerConfigFile, rules: o.ruleFiles }, 'alerting config reloaded');
  };

  const sink = o.localSlackSink ? new LocalSlackSink() : undefined;
  const api = createApi({
    stores,
    config: () => configView(config, routesFor),
    reload,
    rules: ruleManagerView(rules),
    dispatcher: () => dispatcherView(dispatcher),
    onAck: (groupKey, by) => dispatcher.announceAck(groupKey, by),
    ...(sink ? { messages: () => sink.messages().map((m) => ({ at: m.receivedAt, text: m.text, channel: m.channel })) } : {}),
    externalURL: o.externalURL,
    ackSecret: o.ackSecret,
    clock,
    logger: o.logger,
    registry,
    ...(o.basicAuth ? { basicAuth: o.basicAuth } : {}),
  });
  const apiHandler = api.callback();
  const sinkApp = sink ? new (await import('koa')).default() : undefined;
  if (sink && sinkApp) sink.mount(sinkApp);
  const sinkHandler = sinkApp?.callback();
  const server: Server = createServer((req, res) => {
    // the local Slack stand-in is a separate app: Slack's webhook contract, not the engine's API auth
    if (sinkHandler && req.url?.startsWith('/local/slack/')) void sinkHandler(req, res);
    else void apiHandler(req, res);
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;

  dispatcher.start();
  rules.start();
  const gc = setInterval(() => {
    const now = clock.now();
    void stores.alerts.gc(now, RETENTION_MS).catch((err: unknown) => o.logger.warn({ err }, 'alert gc failed'));
    const nflog = stores.nflog as { gc?: (now: Date, retentionMs: number) => Promise<number> };
    void nflog.gc?.(now, RETENTION_MS).catch((err: unknown) => o.logger.warn({ err }, 'nflog gc failed'));
  }, GC_INTERVAL_MS);
  gc.unref();
  o.logger.info({ url, externalURL: o.externalURL, replica: o.replica, rules: o.ruleFiles }, 'alert engine started');

  return {
    url,
    reload,
    stores,
    dispatcher,
    rules,
    async stop() {
      clearInterval(gc);
      await rules.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await dispatcher.stop({ release: true });
      await dispatcher.idle();
      await stores.close();
    },
  };
}

function buildIntegrations(config: AlertmanagerConfig, deps: Parameters<typeof integrationsFor>[1]): Map<string, Integration[]> {
  const out = new Map<string, Integration[]>();
  for (const receiver of config.receivers) out.set(receiver.name, integrationsFor(receiver, { ...deps, ...(config.file ? { file: config.file } : {}) }));
  return out;
}

export const defaultReplicaName = (): string => `${hostname()}:${process.pid}`;
