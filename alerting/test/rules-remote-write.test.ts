// Remote write of rule results: the WriteRequest decodes as Prometheus's protobuf (checked by decoding it
// back), stale markers keep their exact NaN bits, 5xx is retried and 4xx dropped without retry.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { RemoteWriter, staleNaN } from '../src/rules/remote-write.js';

async function receiver(statuses: number[]): Promise<{ url: string; bodies: Buffer[]; close(): Promise<void> }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      const status = statuses.shift() ?? 204;
      res.writeHead(status).end(status === 400 ? 'out of order sample' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

const sample = { labels: { __name__: 'ALERTS', alertname: 'A', alertstate: 'firing' }, value: 1, timestampMs: 1_700_000_000_000 };

test('5xx is retried until accepted', async (t) => {
  const rx = await receiver([503, 500]);
  t.teardown(() => rx.close());
  const res = await new RemoteWriter({ url: rx.url, backoffMs: 1 }).write([sample]);
  t.deepEqual(res, { ok: true });
  t.is(rx.bodies.length, 3);
});

test('4xx (out of order) is dropped, not retried', async (t) => {
  const rx = await receiver([400]);
  t.teardown(() => rx.close());
  const res = await new RemoteWriter({ url: rx.url, backoffMs: 1 }).write([sample]);
  t.false(res.ok);
  t.regex(res.rejected ?? '', /400: out of order sample/);
  t.is(rx.bodies.length, 1);
});

test('the body is a snappy WriteRequest with sorted labels and exact stale-marker bits', async (t) => {
  const rx = await receiver([]);
  t.teardown(() => rx.close());
  await new RemoteWriter({ url: rx.url }).write([sample, { ...sample, value: staleNaN() }]);
  const raw = snappy.uncompress(rx.bodies[0]!);
  const root = protobuf.parse(`syntax = "proto3"; message W { repeated T timeseries = 1; } message T { repeated L labels = 1; repeated S samples = 2; } message L { string name = 1; string value = 2; } message S { double value = 1; int64 timestamp = 2; }`).root;
  const decoded = root.lookupType('W').toObject(root.lookupType('W').decode(raw), { longs: Number }) as { timeseries: { labels: { name: string }[]; samples: { value: number; timestamp: number }[] }[] };
  t.deepEqual(decoded.timeseries[0]!.labels.map((l) => l.name), ['__name__', 'alertname', 'alertstate']);
  t.is(decoded.timeseries[0]!.samples[0]!.timestamp, sample.timestampMs);
  t.true(Buffer.from(raw).includes(Buffer.from([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f])), 'StaleNaN 0x7ff0000000000002 on the wire');
});
