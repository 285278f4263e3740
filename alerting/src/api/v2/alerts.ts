// GET/POST /api/v2/alerts and GET /api/v2/alerts/groups (api/v2/api.go getAlertsHandler, postAlertsHandler,
// getAlertGroupsHandler).
import type Router from '@koa/router';
import type { Alert } from '../../model/alert.js';
import { readJson } from '../body.js';
import type { ApiDeps, AlertGroupView } from '../deps.js';
import type { ApiLimits } from '../limits.js';
import type { ApiMetrics } from '../metrics.js';
import { anchoredRegex, queryBool } from '../validate.js';
import { matchFilterLabels, parseFilters } from './filters.js';
import { parsePostableAlerts } from './postable-alerts.js';
import { gettableAlert, type GettableAlert } from './shapes.js';
import { alertStatus } from './suppression.js';

type Query = Record<string, string | string[] | undefined>;

interface AlertQuery {
  active: boolean;
  silenced: boolean;
  inhibited: boolean;
  muted: boolean;
  filter: ReturnType<typeof parseFilters>;
  receiver: RegExp | undefined;
}

function parseAlertQuery(q: Query): AlertQuery {
  // a repeated `receiver` parameter: go-openapi takes the first value
  const rawReceiver = Array.isArray(q.receiver) ? q.receiver[0] : q.receiver;
  // `unprocessed` is validated (amtool always sends it) and, as in Alertmanager, filters nothing
  queryBool(q, 'unprocessed', true);
  return {
    active: queryBool(q, 'active', true),
    silenced: queryBool(q, 'silenced', true),
    inhibited: queryBool(q, 'inhibited', true),
    muted: queryBool(q, 'muted', true),
    filter: parseFilters(q),
    receiver: rawReceiver ? anchoredRegex(rawReceiver, 'receiver') : undefined,
  };
}

/** The alerts the query selects, in their API shape (resolved alerts excluded, sorted by fingerprint). */
async function selectAlerts(deps: ApiDeps, alerts: Alert[], query: AlertQuery, now: Date): Promise<GettableAlert[]> {
  const cfg = deps.config();
  const dispatcher = deps.dispatcher?.();
  const silences = await deps.stores.silences.list();
  const out: GettableAlert[] = [];
  for (const a of alerts) {
    if (a.endsAt.getTime() < now.getTime()) continue;
    if (!matchFilterLabels(query.filter, a.labels)) continue;
    const receivers = cfg.receiversFor(a.labels);
    if (query.receiver && !receivers.some((r) => query.receiver!.test(r))) continue;
    const status = await alertStatus(a, silences, now, dispatcher);
    if (!query.active && status.state === 'active') continue;
    if (!query.silenced && status.silencedBy.length > 0) continue;
    if (!query.inhibited && status.inhibitedBy.length > 0) continue;
    out.push(gettableAlert(a, status, receivers));
  }
  return out.sort((x, y) => (x.fingerprint < y.fingerprint ? -1 : x.fingerprint > y.fingerprint ? 1 : 0));
}

/** Without a dispatcher: one group per receiver, no group_by (labels {}), so the endpoint still answers. */
function groupsWithoutDispatcher(deps: ApiDeps, alerts: Alert[]): AlertGroupView[] {
  const cfg = deps.config();
  const byReceiver = new Map<string, Alert[]>();
  for (const a of alerts) {
    for (const r of cfg.receiversFor(a.labels)) {
      const list = byReceiver.get(r) ?? [];
      list.push(a);
      byReceiver.set(r, list);
    }
  }
  return [...byReceiver].map(([receiver, list]) => ({ groupKey: `{}:${receiver}`, labels: {}, receiver, alerts: list }));
}

export function alertRoutes(router: Router, deps: ApiDeps, limits: ApiLimits, metrics: ApiMetrics): void {
  router.get('/api/v2/alerts', async (ctx) => {
    const query = parseAlertQuery(ctx.query);
    const now = deps.clock.now();
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(await selectAlerts(deps, await deps.stores.alerts.list(), query, now));
  });

  router.post('/api/v2/alerts', async (ctx) => {
    const body = await readJson(ctx, limits.maxBodyBytes, limits.maxJsonDepth);
    let alerts;
    try {
      alerts = parsePostableAlerts(body, limits);
    } catch (err) {
      metrics.invalid.inc();
      throw err;
    }
    const now = deps.clock.now();
    for (const a of alerts) metrics.received.inc({ status: a.endsAt && a.endsAt.getTime() <= now.getTime() ? 'resolved' : 'firing' });
    await deps.stores.alerts.put(alerts, now);
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = '';
  });

  router.get('/api/v2/alerts/groups', async (ctx) => {
    const query = parseAlertQuery(ctx.query);
    const now = deps.clock.now();
    const dispatcher = deps.dispatcher?.();
    const groups = dispatcher ? await dispatcher.groups() : groupsWithoutDispatcher(deps, await deps.stores.alerts.list());
    const out = [];
    for (const g of groups) {
      if (query.receiver && !query.receiver.test(g.receiver)) continue;
      const alerts = await selectAlerts(deps, g.alerts, { ...query, receiver: undefined }, now);
      if (alerts.length === 0) continue;
      if (!query.muted && alerts.every((a) => a.status.mutedBy.length > 0)) continue;
      out.push({ labels: g.labels, routeLabels: g.routeLabels ?? {}, receiver: { name: g.receiver }, alerts });
    }
    out.sort((a, b) => {
      const ka = JSON.stringify(a.labels) + a.receiver.name;
      const kb = JSON.stringify(b.labels) + b.receiver.name;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(out);
  });
}
