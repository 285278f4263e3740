import { z } from 'zod';
import { duration, httpUrl, retryOnFailure, sendingQueue } from '../../../config/values.js';

/** Key names as in the OpenTelemetry Collector's otlphttp exporter. */
export const configSchema = z
  .strictObject({
    /** Base URL; /v1/traces, /v1/logs and /v1/metrics are appended. */
    endpoint: httpUrl().optional(),
    /** Full URLs, used as given, overriding endpoint for one signal. */
    traces_endpoint: httpUrl().optional(),
    logs_endpoint: httpUrl().optional(),
    metrics_endpoint: httpUrl().optional(),
    /** Sent with every request (e.g. an Authorization token: values are never logged). */
    headers: z.record(z.string(), z.string()).default({}),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    encoding: z.enum(['proto', 'json']).default('proto'),
    /** Per request. */
    timeout: duration().default(30_000),
    retry_on_failure: retryOnFailure(),
    sending_queue: sendingQueue(),
  })
  .refine((c) => c.endpoint ?? c.traces_endpoint ?? c.logs_endpoint ?? c.metrics_endpoint, {
    message: 'set endpoint (or traces_endpoint / logs_endpoint / metrics_endpoint)',
    path: ['endpoint'],
  });

export type OtlpHttpConfig = z.output<typeof configSchema>;
