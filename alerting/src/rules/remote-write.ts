// Prometheus remote write (POST /api/v1/write): a snappy-compressed protobuf WriteRequest, built with
// protobufjs from the subset of prometheus/prompb/{remote,types}.proto we send. Used for ALERTS,
// ALERTS_FOR_STATE and recording-rule results. As Prometheus's queue manager does: 2xx is success, a 4xx
// (out of order, out of bounds, bad labels) is dropped and not retried, 5xx and network errors are retried.
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { request } from 'undici';
import type { LabelSet } from '../model/labels.js';

const root = protobuf.parse(`
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`).root;
const WriteRequest = root.lookupType('prometheus.WriteRequest');

/** Prometheus's staleness marker: a NaN with this exact bit pattern (value.StaleNaN). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;
export function staleNaN(): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, STALE_NAN_BITS);
  return dv.getFloat64(0);
}

export interface SeriesSample {
  /** Includes __name__. */
  labels: LabelSet;
  /** Identifies the series among a rule's output (default: the labels' fingerprint), for stale markers. */
  key?: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestampMs: number;
}

export function encodeWriteRequest(samples: SeriesSample[]): Uint8Array {
  const timeseries = samples.map((s) => ({
    // remote write requires labels sorted by name
    labels: Object.keys(s.labels)
      .sort()
      .map((name) => ({ name, value: s.labels[name]! })),
    samples: [{ value: s.value, timestamp: s.timestampMs }],
  }));
  const bytes = WriteRequest.encode(WriteRequest.create({ timeseries })).finish();
  return snappy.compress(bytes);
}

export interface RemoteWriteResult {
  /** Samples accepted (2xx). */
  ok: boolean;
  /** Set when the receiver refused the batch with a 4xx (dropped, not retried). */
  rejected?: string;
}

export interface RemoteWriterOptions {
  url: string;
  /** Attempts for 5xx/network errors (default 3), with exponential backoff from `backoffMs` (default 100). */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
}

export class RemoteWriter {
  constructor(private readonly opts: RemoteWriterOptions) {}

  /** Throws after the last failed retryable attempt; a 4xx resolves with `rejected`. */
  async write(samples: SeriesSample[]): Promise<RemoteWriteResult> {
    if (samples.length === 0) return { ok: true };
    const body = encodeWriteRequest(samples);
    const attempts = this.opts.attempts ?? 3;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (this.opts.backoffMs ?? 100) * 2 ** (attempt - 1)));
      try {
        const res = await request(this.opts.url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/x-protobuf',
            'content-encoding': 'snappy',
            'x-prometheus-remote-write-version': '0.1.0',
            'user-agent': 'lantern-alerting',
          },
          headersTimeout: this.opts.timeoutMs ?? 10_000,
          bodyTimeout: this.opts.timeoutMs ?? 10_000,
        });
        const text = await res.body.text();
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
        if (res.statusCode >= 400 && res.statusCode < 500) return { ok: false, rejected: `HTTP ${res.statusCode}: ${text.trim().slice(0, 300)}` };
        lastError = new Error(`remote write to ${this.opts.url} failed: HTTP ${res.statusCode}: ${text.trim().slice(0, 300)}`);
      } catch (e) {
        lastError = new Error(`remote write to ${this.opts.url} failed: ${(e as Error).message}`, { cause: e });
      }
    }
    throw lastError!;
  }
}
