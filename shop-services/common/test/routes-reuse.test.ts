import test from 'ava';
import { z } from 'zod';
import { createServiceApp, defineRoute, runService, type RunningService } from '../src/index.js';
import { testTelemetry } from './helpers.js';

// reuseResponse: an object the handler returns again is answered with the bytes made the first time.

let parses = 0;
const schema = z.object({ id: z.string(), name: z.string() }).transform((v) => {
  parses++;
  return v;
});
const cached = new Map<string, { id: string; name: string; secret: string }>([
  ['a', { id: 'a', name: 'Ärger', secret: 'not in the schema' }],
  ['b', { id: 'b', name: 'Bee', secret: 'not in the schema' }],
]);

const routes = [
  defineRoute({
    method: 'GET',
    path: '/things/:id',
    summary: 'cached thing',
    auth: 'none',
    params: z.object({ id: z.string() }),
    response: schema,
    reuseResponse: true,
    handler: async ({ params }) => cached.get(params.id) ?? { id: params.id, name: 'fresh', secret: 'x' },
  }),
];

let svc: RunningService;
test.before(async () => {
  const telemetry = testTelemetry('reuse');
  svc = await runService({ app: createServiceApp({ telemetry, routes, serviceAuth: false }), telemetry, port: 0, host: '127.0.0.1' });
});
test.after.always(() => svc?.close());

test.serial('the same object is validated and serialised once; its fields are still stripped by the schema', async (t) => {
  const first = await fetch(`${svc.url}/things/a`);
  t.is(first.status, 200);
  t.is(first.headers.get('content-type'), 'application/json; charset=utf-8');
  const body = await first.text();
  t.deepEqual(JSON.parse(body), { id: 'a', name: 'Ärger' });
  t.is(first.headers.get('content-length'), String(Buffer.byteLength(body)));
  for (let i = 0; i < 3; i++) t.is(await (await fetch(`${svc.url}/things/a`)).text(), body);
  t.is(parses, 1);
  await fetch(`${svc.url}/things/b`).then((r) => r.arrayBuffer());
  t.is(parses, 2, 'another object is validated on its own');
  // objects made per request are validated every time (nothing is kept for them past the request)
  await fetch(`${svc.url}/things/new-1`).then((r) => r.arrayBuffer());
  await fetch(`${svc.url}/things/new-2`).then((r) => r.arrayBuffer());
  t.is(parses, 4);
});
