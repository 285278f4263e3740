// Prometheus-compatible rule endpoints (web/api/v1 rules and alerts), so Grafana's Prometheus data source
// and `promtool`-style tooling can list Lantern's rules. Without a rule manager both answer empty lists.
import type Router from '@koa/router';
import type { ApiDeps, PromRuleGroupView } from './deps.js';
import { HttpError } from './http-error.js';

async function groups(deps: ApiDeps): Promise<PromRuleGroupView[]> {
  return deps.rules ? await deps.rules.listGroups() : [];
}

export function prometheusRoutes(router: Router, deps: ApiDeps): void {
  router.get('/api/v1/rules', async (ctx) => {
    const type = typeof ctx.query.type === 'string' ? ctx.query.type : '';
    if (type !== '' && type !== 'alert' && type !== 'record') throw new HttpError(400, `type: must be "alert" or "record", got ${JSON.stringify(type)}`);
    const want = type === 'alert' ? 'alerting' : type === 'record' ? 'recording' : undefined;
    const list = (await groups(deps)).map((g) => (want ? { ...g, rules: g.rules.filter((r) => r.type === want) } : g));
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ status: 'success', data: { groups: list } });
  });

  router.get('/api/v1/alerts', async (ctx) => {
    const alerts = (await groups(deps)).flatMap((g) => g.rules.flatMap((r) => (r.type === 'alerting' ? (r.alerts ?? []) : [])));
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ status: 'success', data: { alerts } });
  });
}
