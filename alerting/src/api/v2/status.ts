// GET /api/v2/status and GET /api/v2/receivers (api.go getStatusHandler, getReceiversHandler). There is no
// gossip cluster (replicas share Postgres), so cluster is {status: "disabled", peers: []} as in a lone
// Alertmanager. versionInfo.version keeps amtool's major.minor check quiet (it warns on a mismatch).
import type Router from '@koa/router';
import type { ApiDeps } from '../deps.js';
import { statusConfigYaml } from '../status-config.js';
import { matchFilterLabels, parseFilters } from './filters.js';

export const DEFAULT_VERSION = '0.25.0+lantern';

export function statusRoutes(router: Router, deps: ApiDeps, startedAt: Date): void {
  let memo: { original: string; shown: string } | undefined;
  const shownConfig = (): string => {
    const cfg = deps.config();
    if (memo?.original !== cfg.original) memo = { original: cfg.original, shown: statusConfigYaml(cfg.original, { lanternOnlyKeys: cfg.lanternOnlyKeys ?? [] }) };
    return memo.shown;
  };

  router.get('/api/v2/status', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({
      cluster: { status: 'disabled', peers: [] },
      versionInfo: {
        version: deps.version ?? DEFAULT_VERSION,
        revision: 'unknown',
        branch: 'lantern',
        buildUser: 'lantern',
        buildDate: '',
        goVersion: `node ${process.version}`,
      },
      config: { original: shownConfig() },
      uptime: startedAt.toISOString(),
    });
  });

  router.get('/api/v2/receivers', (ctx) => {
    const matchers = parseFilters(ctx.query, 'receiver_matchers');
    const out = deps
      .config()
      .receivers.filter((r) => matchers.length === 0 || matchFilterLabels(matchers, r.labels ?? {}))
      .map((r) => ({ name: r.name, labels: r.labels ?? {} }));
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(out);
  });
}
