// loki exporter (logs only): pushes to Loki's /loki/api/v1/push with bounded stream labels and trace
// context in structured metadata, through the shared queue and retry (exporterhelper).
import type { Agent } from 'undici';
import { compress, createQueuedExporter, decodeLogs, keepAliveAgent, post, type ExportRequest } from '../../../exporterhelper/index.js';
import type { ExporterFactory, Host } from '../../../pipeline/types.js';
import { configSchema, type LokiConfig } from './config.js';
import { buildStreams, jsonPush, protobufPush } from './push.js';

/** Loki: 429 (rate limits) and every 5xx are worth retrying; 400 (validation) and other 4xx are not. */
const lokiRetryable = (status: number) => status === 429 || status >= 500;

function sender(id: string, config: LokiConfig, host: Host, agent: Agent) {
  const truncated = host.telemetry.counter('otelcol_exporter_loki_truncated_total', 'Log lines cut to max_line_size, and structured metadata entries left out to stay within Loki limits', ['exporter', 'part']);
  return async (req: ExportRequest, ctx: { signal: AbortSignal }): Promise<void> => {
    const { streams, stats } = buildStreams(decodeLogs(req.body), config);
    if (stats.linesTruncated > 0) truncated.inc({ exporter: id, part: 'line' }, stats.linesTruncated);
    if (stats.metadataDropped > 0) truncated.inc({ exporter: id, part: 'structured_metadata' }, stats.metadataDropped);
    const headers: Record<string, string> = { 'user-agent': 'lantern-collector', ...config.headers };
    if (config.tenant_id) headers['x-scope-orgid'] = config.tenant_id;
    let body: Uint8Array;
    if (config.format === 'protobuf') {
      body = protobufPush(streams);
      headers['content-type'] = 'application/x-protobuf';
    } else {
      body = jsonPush(streams);
      headers['content-type'] = 'application/json';
      if (config.compression === 'gzip') {
        body = await compress(body);
        headers['content-encoding'] = 'gzip';
      }
    }
    await post({ agent, url: config.endpoint, headers, body, timeoutMs: config.timeout, signal: ctx.signal, what: 'Loki', retryable: lokiRetryable });
  };
}

export const factory: ExporterFactory<LokiConfig> = {
  kind: 'exporter',
  type: 'loki',
  signals: ['logs'],
  configSchema,
  create({ id, config, host }) {
    const agent = keepAliveAgent(config.sending_queue.enabled ? config.sending_queue.num_consumers : 16);
    return createQueuedExporter({
      id,
      host,
      signals: ['logs'],
      queue: config.sending_queue,
      retry: config.retry_on_failure,
      send: sender(id, config, host, agent),
      shutdown: () => agent.close(),
    });
  },
};
