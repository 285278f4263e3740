// servicegraph: edges from paired client/server (and producer/consumer) spans, database edges,
// failures, unpaired spans and virtual nodes after the ttl, the max_items drop, pass-through.
import test from 'ava';
import type { Collector } from '../src/index.js';
import { metricValue, startTestCollector, type Doc } from './support/collector.js';
import { sink } from './support/sink.js';
import { source } from './support/source.js';
import { newSpanId, newTraceId, span } from './support/spans.js';
import { waitFor } from '@lantern/testkit';

function doc(key: string, servicegraph: Doc = {}): Doc {
  return {
    receivers: { [`test_source/${key}`]: {}, [`test_source/${key}_m`]: {} },
    processors: { [`servicegraph/${key}`]: servicegraph },
    exporters: { [`test_sink/${key}`]: {}, [`prometheus/${key}`]: { endpoint: '127.0.0.1:0' } },
    service: {
      pipelines: {
        traces: { receivers: [`test_source/${key}`], processors: [`servicegraph/${key}`], exporters: [`test_sink/${key}`] },
        metrics: { receivers: [`test_source/${key}_m`], exporters: [`prometheus/${key}`] },
      },
    },
  };
}

async function metrics(c: Collector, key: string): Promise<string> {
  return (await fetch(`${c.endpoint(`prometheus/${key}`)}/metrics`)).text();
}

const edge = (client: string, server: string, connection_type = '') => ({ client, server, connection_type });

/** A client span of `client` calling a server span of `server` in one trace. */
function call(client: string, server: string, opts: { clientMs?: number; serverMs?: number; clientKind?: 'client' | 'producer'; serverKind?: 'server' | 'consumer'; clientStatus?: 'error' | 'ok'; serverStatus?: 'error' | 'ok' } = {}) {
  const traceId = newTraceId();
  const clientSpan = span({ service: client, traceId, kind: opts.clientKind ?? 'client', durationMs: opts.clientMs ?? 30, name: 'call', status: opts.clientStatus ?? 'unset' });
  const serverSpan = span({ service: server, traceId, parentSpanId: clientSpan.spanId, kind: opts.serverKind ?? 'server', durationMs: opts.serverMs ?? 20, name: 'handle', status: opts.serverStatus ?? 'unset' });
  return [clientSpan, serverSpan] as const;
}

test('a client span and its server span make an edge: request count and both latency histograms', async (t) => {
  const c = await startTestCollector(doc('sg1'));
  t.teardown(() => c.shutdown());
  const [c1, s1] = call('frontend', 'cart', { clientMs: 30, serverMs: 20 });
  const [c2, s2] = call('frontend', 'cart', { clientMs: 300, serverMs: 250 });
  // pairing does not depend on arrival order, nor on the two sides arriving in one batch
  await source('test_source/sg1').traces!.consume([c1, s2]);
  await source('test_source/sg1').traces!.consume([s1, c2]);
  const text = await metrics(c, 'sg1');
  t.regex(text, /^# TYPE traces_service_graph_request_total counter$/m);
  t.regex(text, /^# TYPE traces_service_graph_request_server_seconds histogram$/m);
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('frontend', 'cart')), 2);
  t.is(metricValue(text, 'traces_service_graph_request_failed_total', edge('frontend', 'cart')), undefined);
  t.is(metricValue(text, 'traces_service_graph_request_server_seconds_count', edge('frontend', 'cart')), 2);
  // sums of seconds: compared to the microsecond (0.03 + 0.3 is 0.32999… in doubles)
  const sum = (name: string) => Math.round((metricValue(text, name, edge('frontend', 'cart')) ?? NaN) * 1e6) / 1e6;
  t.is(sum('traces_service_graph_request_server_seconds_sum'), 0.27);
  t.is(sum('traces_service_graph_request_client_seconds_sum'), 0.33);
  // default buckets 0.002 … 15 s: 20 ms is in le=0.05, 250 ms in le=0.4
  t.is(metricValue(text, 'traces_service_graph_request_server_seconds_bucket', { ...edge('frontend', 'cart'), le: '0.01' }), 0);
  t.is(metricValue(text, 'traces_service_graph_request_server_seconds_bucket', { ...edge('frontend', 'cart'), le: '0.05' }), 1);
  t.is(metricValue(text, 'traces_service_graph_request_server_seconds_bucket', { ...edge('frontend', 'cart'), le: '0.4' }), 2);
  const les = [...text.matchAll(/^traces_service_graph_request_client_seconds_bucket\{[^}]*le="([^"]+)"/gm)].map((m) => m[1]);
  t.deepEqual(les, ['0.002', '0.004', '0.006', '0.008', '0.01', '0.05', '0.1', '0.2', '0.4', '0.8', '1', '1.4', '2', '5', '10', '15', '+Inf']);
  t.is(metricValue(text, 'traces_service_graph_unpaired_spans_total'), undefined);
});

test('producer and consumer spans make a messaging_system edge', async (t) => {
  const c = await startTestCollector(doc('sg2'));
  t.teardown(() => c.shutdown());
  await source('test_source/sg2').traces!.consume([...call('orders', 'mailer', { clientKind: 'producer', serverKind: 'consumer' })]);
  const text = await metrics(c, 'sg2');
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('orders', 'mailer', 'messaging_system')), 1);
});

test('a client span with database attributes completes at once as a database edge', async (t) => {
  const c = await startTestCollector(doc('sg3'));
  t.teardown(() => c.shutdown());
  await source('test_source/sg3').traces!.consume([
    span({ service: 'catalog', kind: 'client', durationMs: 4, attributes: { 'db.system': 'postgresql', 'db.name': 'products' } }),
    span({ service: 'catalog', kind: 'client', durationMs: 4, attributes: { 'db.system': 'redis', 'peer.service': 'cache' } }),
    span({ service: 'catalog', kind: 'client', durationMs: 4, attributes: { 'db.namespace': 'orders' } }),
  ]);
  const text = await metrics(c, 'sg3');
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('catalog', 'products', 'database')), 1);
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('catalog', 'cache', 'database')), 1);
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('catalog', 'orders', 'database')), 1);
  t.is(metricValue(text, 'traces_service_graph_request_server_seconds_sum', edge('catalog', 'products', 'database')), 0.004);
});

test('an error on either side counts the request as failed', async (t) => {
  const c = await startTestCollector(doc('sg4'));
  t.teardown(() => c.shutdown());
  await source('test_source/sg4').traces!.consume([
    ...call('web', 'api', { serverStatus: 'error' }),
    ...call('web', 'api', { clientStatus: 'error' }),
    ...call('web', 'api', { clientStatus: 'ok', serverStatus: 'ok' }),
  ]);
  const text = await metrics(c, 'sg4');
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('web', 'api')), 3);
  t.is(metricValue(text, 'traces_service_graph_request_failed_total', edge('web', 'api')), 2);
});

test('dimensions become client_ and server_ labels', async (t) => {
  const c = await startTestCollector(doc('sg5', { dimensions: ['deployment.environment'] }));
  t.teardown(() => c.shutdown());
  const [cs, ss] = call('a', 'b');
  await source('test_source/sg5').traces!.consume([
    { ...cs, attributes: { 'deployment.environment': 'blue' } },
    { ...ss, attributes: { 'deployment.environment': 'green' } },
  ]);
  const text = await metrics(c, 'sg5');
  t.is(metricValue(text, 'traces_service_graph_request_total', { ...edge('a', 'b'), client_deployment_environment: 'blue', server_deployment_environment: 'green' }), 1);
});

test('after the ttl an unpaired span is counted; with peer.service (or as a root server span) it makes a virtual_node edge', async (t) => {
  const c = await startTestCollector(doc('sg6', { store: { ttl: '50ms' }, store_expiration_loop: '50ms' }));
  t.teardown(() => c.shutdown());
  await source('test_source/sg6').traces!.consume([
    span({ service: 'lonely', kind: 'client' }),
    span({ service: 'checkout', kind: 'client', attributes: { 'peer.service': 'payments-ext' } }),
    span({ service: 'gateway', kind: 'server' }), // a root span: its caller is the user
    span({ service: 'worker', kind: 'server', parentSpanId: newSpanId() }), // its client never arrives
  ]);
  const unpaired = (m: string) => [...m.matchAll(/^traces_service_graph_unpaired_spans_total\{.*\} (\d+)$/gm)].reduce((n, x) => n + Number(x[1]), 0);
  const all = await waitFor(
    async () => {
      const m = await metrics(c, 'sg6');
      return unpaired(m) === 4 && m;
    },
    { what: 'all four half edges to expire' },
  );
  t.is(metricValue(all, 'traces_service_graph_unpaired_spans_total', { client: 'lonely', server: '' }), 1);
  t.is(metricValue(all, 'traces_service_graph_unpaired_spans_total', { client: 'checkout', server: '' }), 1);
  t.is(metricValue(all, 'traces_service_graph_unpaired_spans_total', { client: '', server: 'gateway' }), 1);
  t.is(metricValue(all, 'traces_service_graph_unpaired_spans_total', { client: '', server: 'worker' }), 1);
  t.is(metricValue(all, 'traces_service_graph_request_total', edge('checkout', 'payments-ext', 'virtual_node')), 1);
  t.is(metricValue(all, 'traces_service_graph_request_total', edge('user', 'gateway', 'virtual_node')), 1);
  t.is(metricValue(all, 'traces_service_graph_request_total', { client: 'lonely' }), undefined);
  t.is(metricValue(all, 'traces_service_graph_request_total', { server: 'worker' }), undefined);
});

test('virtual nodes can be turned off with an empty virtual_node_peer_attributes', async (t) => {
  const c = await startTestCollector(doc('sg7', { store: { ttl: '20ms' }, store_expiration_loop: '20ms', virtual_node_peer_attributes: [] }));
  t.teardown(() => c.shutdown());
  await source('test_source/sg7').traces!.consume([span({ service: 'checkout', kind: 'client', attributes: { 'peer.service': 'payments-ext' } })]);
  const text = await waitFor(async () => {
    const m = await metrics(c, 'sg7');
    return metricValue(m, 'traces_service_graph_unpaired_spans_total', { client: 'checkout' }) === 1 && m;
  });
  t.is(metricValue(text, 'traces_service_graph_request_total', { client: 'checkout' }), undefined);
});

test('when the store holds max_items half edges, further spans are dropped from the graph and counted', async (t) => {
  const c = await startTestCollector(doc('sg8', { store: { ttl: '1h', max_items: 2 } }));
  t.teardown(() => c.shutdown());
  await source('test_source/sg8').traces!.consume([span({ service: 'c1', kind: 'client' }), span({ service: 'c2', kind: 'client' }), span({ service: 'c3', kind: 'client' })]);
  await source('test_source/sg8').traces!.consume([span({ service: 's4', kind: 'server', parentSpanId: newSpanId() })]);
  // a database edge needs no room in the store
  await source('test_source/sg8').traces!.consume([span({ service: 'c5', kind: 'client', attributes: { 'db.name': 'x' } })]);
  const text = await metrics(c, 'sg8');
  t.is(metricValue(text, 'traces_service_graph_dropped_spans_total', { client: 'c3', server: '' }), 1);
  t.is(metricValue(text, 'traces_service_graph_dropped_spans_total', { client: '', server: 's4' }), 1);
  t.is(metricValue(text, 'traces_service_graph_request_total', edge('c5', 'x', 'database')), 1);
});

test('shutdown counts the half edges still waiting as unpaired instead of losing them', async (t) => {
  const c = await startTestCollector(doc('sg9', { store: { ttl: '1h' } }));
  await source('test_source/sg9').traces!.consume([span({ service: 'pending', kind: 'client' })]);
  t.is(metricValue(await metrics(c, 'sg9'), 'traces_service_graph_unpaired_spans_total', { client: 'pending' }), undefined);
  await c.shutdown();
  t.is(metricValue(await c.host.derivedMetrics.metrics(), 'traces_service_graph_unpaired_spans_total', { client: 'pending' }), 1);
});

test('spans pass through unchanged', async (t) => {
  const c = await startTestCollector(doc('sg10'));
  t.teardown(() => c.shutdown());
  const spans = [...call('x', 'y'), span({ service: 'z', kind: 'internal' })];
  const before = structuredClone(spans);
  await source('test_source/sg10').traces!.consume(spans);
  const got = sink('test_sink/sg10').traces;
  t.is(got.length, 3);
  t.is(got[1], spans[1]);
  t.deepEqual(got, before);
});
