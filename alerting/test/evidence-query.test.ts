// Which exemplar query an alert leads to, trace links, and the Loki log query (its answer shape read back).
import test from 'ava';
import { exemplarQueryFor, exemplarQueryForExpr } from '../src/evidence/exemplar-query.js';
import { createEvidenceSource } from '../src/evidence/source.js';
import { lokiQuery } from '../src/evidence/logs.js';
import { traceLink } from '../src/evidence/traces.js';
import { alert, receiver } from './support/integration-fixtures.js';

test('exemplar query: first _bucket selector of the expression, narrowed by the alert labels its aggregation keeps', (t) => {
  t.deepEqual(exemplarQueryForExpr('histogram_quantile(0.99, sum by (le, service) (rate(http_server_duration_seconds_bucket{route=~"/api.*"}[5m]))) > 0.5', { alertname: 'X', service: 'checkout', severity: 'page' }), {
    query: 'http_server_duration_seconds_bucket{route=~"/api.*", service="checkout"}',
    broad: 'http_server_duration_seconds_bucket{route=~"/api.*"}',
  });
  // _bucket preferred over an earlier _total; rule labels (team) never become matchers
  t.is(exemplarQueryForExpr('rate(x_total[1m]) > 0 and on(service) sum by (service) (rate(y_seconds_bucket[1m])) > 1', { service: 's', team: 't' })!.query, 'y_seconds_bucket{service="s"}');
  // no aggregation: only well-known series labels are added
  t.is(exemplarQueryForExpr('rate(errors_total[5m]) > 1', { service: 'a', instance: 'h:1', team: 't' })!.query, 'errors_total{instance="h:1", service="a"}');
  t.is(exemplarQueryForExpr('up == 0', { job: 'x' }), undefined, 'no histogram/counter: no traces');
  t.is(exemplarQueryForExpr('sum(rate(', {}), undefined, 'unparsable expression');
  t.deepEqual(exemplarQueryFor(alert({ alertname: 'A' }, { lantern_exemplar_query: 'foo_bucket{a="b"}' })), { query: 'foo_bucket{a="b"}' });
  t.is(exemplarQueryFor(alert({ alertname: 'A' }, {}, { generatorURL: 'not a url' })), undefined);
});

test('trace links: a {traceId} template is filled, a base URL gets /trace/<id>', (t) => {
  t.is(traceLink('http://127.0.0.1:16686/trace/{traceId}?uiFind=x', 'ab'), 'http://127.0.0.1:16686/trace/ab?uiFind=x');
  t.is(traceLink('http://jaeger:16686/', 'ab'), 'http://jaeger:16686/trace/ab');
});

test('Loki: query_range with the service selector and an error line filter, newest first, limited', async (t) => {
  const now = Date.now();
  const loki = await receiver((_req, _n, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        data: {
          resultType: 'streams',
          result: [
            { stream: { service_name: 'pay', level: 'error' }, values: [[`${now - 1000}000000`, 'level=error msg="card declined"'], [`${now - 3000}000000`, 'ERROR old']] },
            { stream: { service_name: 'pay', level: 'fatal' }, values: [[`${now - 2000}000000`, 'panic: nil map']] },
          ],
        },
      }),
    );
  });
  t.teardown(loki.close);
  const source = createEvidenceSource({ logs: { kind: 'loki', url: loki.url }, limits: { logs: 2 } });
  const ev = await source.evidenceFor([alert({ alertname: 'E', service_name: 'pay' })]);
  const u = new URL(loki.got[0]!.path, loki.url);
  t.is(u.pathname, '/loki/api/v1/query_range');
  t.is(u.searchParams.get('query'), lokiQuery('service_name', 'pay'));
  t.is(u.searchParams.get('query'), '{service_name="pay"} |~ "(?i)(error|fatal|panic|exception)"');
  t.is(u.searchParams.get('direction'), 'backward');
  t.deepEqual(ev.logs.map((l) => [l.level, l.message]), [['error', 'level=error msg="card declined"'], ['fatal', 'panic: nil map']]);
  t.deepEqual(ev.notes, []);
});
