// otlphttp exporter: OTLP/HTTP (protobuf or JSON, gzip) to any OTLP backend (Jaeger, another collector,
// Loki's /otlp), through the shared queue and retry (exporterhelper).
import type { Agent } from 'undici';
import { ConfigError } from '../../../pipeline/errors.js';
import type { ExporterFactory, Host, Signal } from '../../../pipeline/types.js';
import { compress, createQueuedExporter, decodeLogs, decodeMetrics, decodeTraces, keepAliveAgent, post, type ExportRequest } from '../../../exporterhelper/index.js';
import { encodeLogs, encodeMetrics, encodeTraces } from '../../../otlp/encode.js';
import { configSchema, type OtlpHttpConfig } from './config.js';
import { partialSuccess } from './response.js';

const SIGNALS: readonly Signal[] = ['traces', 'logs', 'metrics'];

/** The URL for one signal: its *_endpoint as given, else endpoint + /v1/<signal>. */
export function signalUrl(config: OtlpHttpConfig, signal: Signal): string | undefined {
  const override = config[`${signal}_endpoint`];
  if (override) return override;
  if (!config.endpoint) return undefined;
  return `${config.endpoint.replace(/\/+$/, '')}/v1/${signal}`;
}

/** The queue holds protobuf; JSON is produced only when configured (decode → encode costs CPU). */
function asJson(req: ExportRequest): Uint8Array {
  if (req.signal === 'traces') return encodeTraces(decodeTraces(req.body), 'json');
  if (req.signal === 'logs') return encodeLogs(decodeLogs(req.body), 'json');
  return encodeMetrics(decodeMetrics(req.body), 'json');
}

function sender(id: string, config: OtlpHttpConfig, host: Host, agent: Agent) {
  const log = host.logger.child({ exporter: id });
  const metrics = host.telemetry.exporter(id);
  const contentType = config.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
  return async (req: ExportRequest, ctx: { signal: AbortSignal }): Promise<void> => {
    const url = signalUrl(config, req.signal);
    if (!url) throw new ConfigError(`exporters.${id}.endpoint`, `no endpoint for ${req.signal}`);
    let body = config.encoding === 'json' ? asJson(req) : req.body;
    const headers: Record<string, string> = { 'user-agent': 'lantern-collector', ...config.headers, 'content-type': contentType };
    if (config.compression === 'gzip') {
      body = await compress(body);
      headers['content-encoding'] = 'gzip';
    }
    const res = await post({ agent, url, headers, body, timeoutMs: config.timeout, signal: ctx.signal, what: 'OTLP endpoint' });
    const partial = partialSuccess(req.signal, res.body, res.contentType);
    if (partial) {
      // not retried (the spec forbids it): the rejected part is lost, so it is counted and logged
      if (partial.rejected > 0) metrics.failed(req.signal, partial.rejected);
      log.warn({ signal: req.signal, rejected_items: partial.rejected, items: req.items, reason: partial.message }, `OTLP endpoint accepted the request partially: ${partial.rejected} ${req.signal} items rejected`);
    }
  };
}

export const factory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlphttp',
  signals: SIGNALS,
  configSchema,
  create({ id, config, host }) {
    const agent = keepAliveAgent(config.sending_queue.enabled ? config.sending_queue.num_consumers : 16);
    const exporter = createQueuedExporter({
      id,
      host,
      signals: SIGNALS.filter((s) => signalUrl(config, s) !== undefined),
      queue: config.sending_queue,
      retry: config.retry_on_failure,
      send: sender(id, config, host, agent),
      shutdown: () => agent.close(),
    });
    return {
      start: () => exporter.start?.() ?? Promise.resolve(),
      shutdown: () => exporter.shutdown(),
      consumer(signal) {
        if (!signalUrl(config, signal)) throw new ConfigError(`exporters.${id}`, `no endpoint for ${signal}: set endpoint or ${signal}_endpoint`);
        return exporter.consumer(signal);
      },
    };
  },
};
