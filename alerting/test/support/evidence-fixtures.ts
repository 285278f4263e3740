// Evidence test fixtures: a collector in-process (otlp receiver → store, no sampling), spans and log
// records in the collector's decoded form, and a loopback exporter serving OpenMetrics with exemplars.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Collector, encodeLogs, encodeTraces, type DecodedLogRecord, type DecodedSpan, type ResourceInfo } from '@lantern/collector';

export const newTraceId = (): string => randomBytes(16).toString('hex');
export const newSpanId = (): string => randomBytes(8).toString('hex');
const ns = (ms: number): string => (BigInt(Math.round(ms)) * 1_000_000n).toString();

export async function startCollector(key: string): Promise<{ c: Collector; otlp: string; query: string }> {
  const c = await Collector.start({
    config: {
      receivers: { [`otlp/${key}`]: { protocols: { http: { endpoint: '127.0.0.1:0' } } } },
      exporters: { [`store/${key}`]: { query: { endpoint: '127.0.0.1:0' } } },
      service: {
        data_dir: mkdtempSync(join(tmpdir(), 'alerting-evidence-')),
        telemetry: { metrics: { address: '127.0.0.1:0' }, logs: { level: 'silent' } },
        pipelines: {
          traces: { receivers: [`otlp/${key}`], exporters: [`store/${key}`] },
          logs: { receivers: [`otlp/${key}`], exporters: [`store/${key}`] },
        },
      },
    },
    logger: pino({ level: 'silent' }),
  });
  return { c, otlp: c.endpoint(`otlp/${key}`), query: c.endpoint(`store/${key}`, 'query') };
}

const resource = (service: string): ResourceInfo => ({ attributes: { 'service.name': service } });

export function span(o: { service: string; traceId: string; spanId?: string; parentSpanId?: string; name: string; error?: boolean; startMs: number; durationMs: number }): DecodedSpan {
  return {
    traceId: o.traceId,
    spanId: o.spanId ?? newSpanId(),
    ...(o.parentSpanId ? { parentSpanId: o.parentSpanId } : {}),
    flags: 1,
    name: o.name,
    kind: 'server',
    startTimeUnixNano: ns(o.startMs),
    endTimeUnixNano: ns(o.startMs + o.durationMs),
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    links: [],
    status: o.error ? { code: 'error', message: 'payment gateway timeout' } : { code: 'unset' },
    resource: resource(o.service),
    scope: { name: 'evidence-test', attributes: {} },
  };
}

export function logRecord(o: { service: string; message: string; severityNumber: number; timeMs: number; traceId?: string }): DecodedLogRecord {
  return {
    timeUnixNano: ns(o.timeMs),
    observedTimeUnixNano: ns(o.timeMs),
    severityNumber: o.severityNumber,
    body: o.message,
    attributes: {},
    ...(o.traceId ? { traceId: o.traceId, spanId: newSpanId() } : {}),
    flags: 0,
    resource: resource(o.service),
    scope: { name: 'evidence-test', attributes: {} },
  };
}

async function postOtlp(url: string, body: Uint8Array): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
}

export const sendSpans = (otlp: string, spans: DecodedSpan[]): Promise<void> => postOtlp(`${otlp}/v1/traces`, encodeTraces(spans));
export const sendLogs = (otlp: string, logs: DecodedLogRecord[]): Promise<void> => postOtlp(`${otlp}/v1/logs`, encodeLogs(logs));

/**
 * A scrape target serving one histogram in OpenMetrics text, with `traceId` as an exemplar on a bucket
 * (Prometheus stores exemplars only from OpenMetrics scrapes).
 */
export async function exemplarExporter(metric: string, labels: Record<string, string>, traceId: string): Promise<{ hostPort: string; close: () => Promise<void> }> {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const body = [
    `# TYPE ${metric} histogram`,
    `# HELP ${metric} Request latency.`,
    `${metric}_bucket{${l},le="0.5"} 3`,
    `${metric}_bucket{${l},le="2.5"} 4 # {trace_id="${traceId}"} 1.7`,
    `${metric}_bucket{${l},le="+Inf"} 4`,
    `${metric}_sum{${l}} 2.9`,
    `${metric}_count{${l}} 4`,
    '# EOF',
    '',
  ].join('\n');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { hostPort: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
