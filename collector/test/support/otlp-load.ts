// A bounded open-loop OTLP/HTTP load generator, run as its own process (so its memory is not the
// collector's): sends `requests` protobuf trace exports at `rate` per second regardless of answers
// (at most `maxOutstanding` at once), spans named `r<i>.<j>`, and prints one JSON line: each request's
// status and Retry-After. Never retries: the test decides what a status means.
//   node --import tsx otlp-load.ts '<json options>'
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTraces } from '../../src/otlp/index.js';
import type { DecodedSpan } from '../../src/otlp/types.js';

export interface LoadOptions {
  url: string;
  requests: number;
  spansPerRequest: number;
  /** Size of a filler attribute on each span, in bytes. */
  attributeBytes: number;
  rate: number;
  maxOutstanding: number;
  /** Stop sending after this long; unsent requests are reported with status -1. */
  deadlineMs: number;
}

export interface LoadResult {
  /** Per request: HTTP status (0: connection error, -1: not sent) and the Retry-After header. */
  results: { status: number; retryAfter: string | null }[];
  elapsedMs: number;
}

const resource = { attributes: { 'service.name': 'overload' } };
const scope = { name: 'load', attributes: {} };

function request(i: number, opts: LoadOptions): Uint8Array {
  // the same filler text in every span is fine: the collector decodes each request into its own strings
  const filler = 'x'.repeat(opts.attributeBytes);
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans: DecodedSpan[] = [];
  for (let j = 0; j < opts.spansPerRequest; j++) {
    spans.push({
      traceId: randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
      flags: 1,
      name: `r${i}.${j}`,
      kind: 'server',
      startTimeUnixNano: now.toString(),
      endTimeUnixNano: (now + 1_000_000n).toString(),
      attributes: { filler },
      droppedAttributesCount: 0,
      events: [],
      links: [],
      status: { code: 'unset' },
      resource,
      scope,
    });
  }
  return encodeTraces(spans, 'protobuf');
}

async function send(url: string, body: Uint8Array): Promise<{ status: number; retryAfter: string | null }> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch {
    return { status: 0, retryAfter: null };
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const results: LoadResult['results'] = Array.from({ length: opts.requests }, () => ({ status: -1, retryAfter: null }));
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < opts.requests; i++) {
    if (Date.now() - started > opts.deadlineMs) break;
    // open loop: request i leaves at its scheduled time, answered or not
    const due = started + (i * 1000) / opts.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight.size >= opts.maxOutstanding) await Promise.race(inFlight);
    const p: Promise<void> = send(opts.url, request(i, opts)).then((r) => {
      results[i] = r;
      inFlight.delete(p);
    });
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return { results, elapsedMs: Date.now() - started };
}

if (process.argv[2]) {
  const result = await runLoad(JSON.parse(process.argv[2]) as LoadOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
