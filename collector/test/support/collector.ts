// Starts a collector for a test: every listener on a free port, data under a fresh temp dir, quiet logs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector } from '../../src/collector.js';
import './sink.js';
import './source.js';

export type Doc = Record<string, unknown>;

export function tempDir(prefix = 'collector-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Adds test defaults (telemetry on port 0, a temp data_dir) to a config document. */
export function testConfig(doc: Doc, dataDir = tempDir()): Doc {
  const service = (doc.service ?? {}) as Doc;
  return {
    ...doc,
    service: { data_dir: dataDir, telemetry: { metrics: { address: '127.0.0.1:0' }, logs: { level: 'silent' } }, ...service },
  };
}

export async function startTestCollector(doc: Doc, dataDir?: string): Promise<Collector> {
  return Collector.start({ config: testConfig(doc, dataDir), logger: pino({ level: 'silent' }) });
}

/** Text of the collector's own /metrics (:8888 in production). */
export async function selfMetrics(c: Collector): Promise<string> {
  return (await fetch(`${c.endpoint('telemetry')}/metrics`)).text();
}

/** The value of one sample in a Prometheus text exposition, e.g. metricValue(text, 'x_total', { a: 'b' }). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
