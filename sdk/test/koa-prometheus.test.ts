import Router from '@koa/router';
import Koa from 'koa';
import test from 'ava';
import { promExemplars, promQuery, registerScrapeTarget, uniqueName, waitFor } from '@lantern/testkit';
import { koaTracing } from '../src/koa/tracing.js';
import { koaObservability } from '../src/koa/index.js';
import { captureLogger, listen, setupTracing } from './koa-testing.js';

setupTracing();

test('a real Prometheus scrapes /metrics as OpenMetrics and returns the request exemplar with its trace id', async (t) => {
  const router = new Router();
  router.get('/orders/:id', (ctx) => {
    ctx.body = { id: ctx.params.id };
  });
  const app = new Koa();
  app.use(koaTracing());
  app.use(koaObservability({ logger: captureLogger('info').logger, serviceName: 'sdk-prom-test' }));
  app.use(router.routes());
  const svc = await listen(app);
  t.teardown(svc.close);

  const res = await fetch(`${svc.url}/orders/17`);
  t.is(res.status, 200);
  const traceId = res.headers.get('x-trace-id');
  t.regex(traceId ?? '', /^[0-9a-f]{32}$/);

  const run = uniqueName('sdk_prom');
  const unregister = await registerScrapeTarget(run, svc.hostPort, { test_run: run });
  t.teardown(unregister);

  const selector = `http_server_request_duration_seconds_bucket{test_run="${run}",route="/orders/:id"}`;
  const series = await waitFor(
    async () => {
      const found = await promExemplars(selector);
      return found.length > 0 ? found : undefined;
    },
    { what: `exemplars for ${selector}`, timeoutMs: 90_000, intervalMs: 500 },
  );
  const exemplars = series.flatMap((s) => s.exemplars);
  t.true(exemplars.some((e) => e.labels.trace_id === traceId), JSON.stringify(exemplars));
  t.like(series[0]?.seriesLabels, { method: 'GET', status_code: '200', job: 'lantern' });

  // the scrape itself went through the OpenMetrics parser: counters keep their _total name
  const cpu = await promQuery(`process_cpu_user_seconds_total{test_run="${run}"}`);
  t.is(cpu.length, 1);
});
