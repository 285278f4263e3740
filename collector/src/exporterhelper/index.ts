// Shared by every exporter that sends to a remote backend (otlphttp, loki, kafka): queue, retry, persistence.
export { RetryableExportError } from './errors.js';
export { createQueuedExporter, DEFAULT_DRAIN_TIMEOUT_MS, type ExportRequest, type QueuedExporterOptions } from './queued-exporter.js';
export { jittered, sendWithRetry, type SendOutcome } from './retry.js';
export { decodeLogs, decodeMetrics, decodeTraces } from '../otlp/codec.js';
export { compress, keepAliveAgent, otlpRetryable, parseRetryAfter, post, safeUrl, type HttpPost, type HttpResponse } from './http.js';
