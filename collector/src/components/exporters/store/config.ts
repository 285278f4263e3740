// Config of the `store` exporter: how much it keeps, where it persists, and where the query API listens.
import { z } from 'zod';
import { endpoint, httpUrl } from '../../../config/values.js';

const auth = z.strictObject({
  username: z.string().min(1),
  password: z.string().min(1),
});

export const storeConfigSchema = z.strictObject({
  /** Traces kept; when full, the trace first seen longest ago is evicted. Jaeger's memory store calls it max_traces too. */
  max_traces: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Spans kept per trace; further spans of that trace are dropped and counted. */
  max_spans_per_trace: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Log records kept (a ring: the oldest goes first). */
  max_log_records: z.number().int().min(1).max(10_000_000).default(100_000),
  persistence: z
    .strictObject({
      /** When set, accepted data is appended to segment files here and replayed on start. */
      directory: z.string().min(1).optional(),
      /** fsync after every write: survives power loss, not only a crash of the process (slower). */
      fsync: z.boolean().default(false),
      /** A segment is closed and a new one opened once it reaches this size. */
      segment_max_bytes: z.number().int().min(4096).default(16 * 1024 * 1024),
    })
    .prefault({}),
  query: z
    .strictObject({
      /** Where the Jaeger-compatible query API, the logs API and the trace pages listen (Jaeger's port). */
      endpoint: endpoint().default({ host: '127.0.0.1', port: 16686 }),
      /** Basic auth for every route; unset = open, so keep the endpoint on loopback. */
      auth: auth.optional(),
      /** Public URL used in links; default: derived from the listening address. */
      base_url: httpUrl().optional(),
    })
    .prefault({}),
});

export type StoreConfig = z.output<typeof storeConfigSchema>;
