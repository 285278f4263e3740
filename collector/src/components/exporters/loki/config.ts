import { z } from 'zod';
import { duration, httpUrl, retryOnFailure, sendingQueue } from '../../../config/values.js';

/** attribute key → Loki label name (sanitised to [a-zA-Z_][a-zA-Z0-9_]* when used). */
const labelMap = z.record(z.string().min(1), z.string().min(1));

/** Trace, span and request ids are unbounded: as labels they would create a stream per request. */
const ID_LIKE = /(^|[._-])(trace|span|request|req)[._-]?id$|^(trace|span|request)id$/i;

export const configSchema = z
  .strictObject({
    /** Loki's push API. */
    endpoint: httpUrl().default('http://127.0.0.1:3100/loki/api/v1/push'),
    /** Sent with every push (values may be secrets: never logged). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Sent as X-Scope-OrgID (multi-tenant Loki). */
    tenant_id: z.string().min(1).optional(),
    labels: z
      .strictObject({
        /** Resource attributes that become stream labels. */
        resource: labelMap.default({ 'service.name': 'service_name' }),
        /** Log record attributes that become stream labels (keep them low-cardinality). */
        attributes: labelMap.default({}),
        /** Add a `level` label from the severity (trace|debug|info|warn|error|fatal|unknown). */
        level: z.boolean().default(true),
      })
      .prefault({}),
    /** Labels per stream (Loki rejects more than 15 by default); the rest go to structured metadata. */
    max_labels: z.number().int().min(1).max(100).default(15),
    /** Longer lines are cut (Loki rejects lines over 256 KB, failing the whole push). 0: no limit. */
    max_line_size: z.number().int().nonnegative().default(256 * 1024),
    /** json (application/json), or protobuf (snappy-compressed PushRequest). */
    format: z.enum(['json', 'protobuf']).default('json'),
    /** gzip for the json format (protobuf is always snappy). */
    compression: z.enum(['gzip', 'none']).default('gzip'),
    /** Per request. */
    timeout: duration().default(30_000),
    retry_on_failure: retryOnFailure(),
    sending_queue: sendingQueue(),
  })
  .superRefine((c, ctx) => {
    for (const part of ['resource', 'attributes'] as const) {
      for (const [attr, label] of Object.entries(c.labels[part])) {
        if (ID_LIKE.test(attr) || ID_LIKE.test(label)) {
          ctx.addIssue({ code: 'custom', path: ['labels', part, attr], message: `"${attr}" looks like a trace/span/request id: ids go to structured metadata, never labels` });
        }
      }
    }
  });

export type LokiConfig = z.output<typeof configSchema>;
