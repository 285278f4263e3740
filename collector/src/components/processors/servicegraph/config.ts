// servicegraph settings, as the OpenTelemetry Collector's servicegraph connector spells them.
import { z } from 'zod';
import { duration } from '../../../config/values.js';

/** The connector's defaults (0.002 s … 15 s), written in milliseconds like every duration here. */
export const DEFAULT_LATENCY_BUCKETS_MS = [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000];

export const configSchema = z
  .strictObject({
    /** Upper bounds of the request_{server,client}_seconds buckets: durations ("100ms", "1s") or milliseconds. */
    latency_histogram_buckets: z.array(duration()).min(1).default(DEFAULT_LATENCY_BUCKETS_MS),
    /** Extra attributes (resource, then span) turned into client_<name> and server_<name> labels. */
    dimensions: z.array(z.string().min(1)).default([]),
    store: z
      .strictObject({
        /** How long a half edge waits for its other span. */
        ttl: duration().default(2000),
        /** Half edges held at once; spans that would add one more are dropped from the graph (and counted). */
        max_items: z.number().int().min(1).default(1000),
      })
      .prefault({}),
    /** How often expired half edges are swept. */
    store_expiration_loop: duration().default(2000),
    /**
     * For a client span whose server never showed up: the first of these span attributes names a
     * virtual server node (connection_type="virtual_node"). Empty: no virtual nodes.
     */
    virtual_node_peer_attributes: z.array(z.string().min(1)).default(['peer.service', 'db.name', 'db.system']),
    /**
     * A CLIENT span carrying any of these is a database call: its edge completes at once, without a
     * server span, with connection_type="database" and the server named by the first one present.
     */
    database_name_attributes: z.array(z.string().min(1)).default(['db.name', 'db.namespace', 'db.system']),
  })
  .superRefine((c, ctx) => {
    const b = c.latency_histogram_buckets;
    if (b.some((v, i) => i > 0 && v <= b[i - 1]!)) ctx.addIssue({ code: 'custom', path: ['latency_histogram_buckets'], message: 'bucket bounds must be strictly increasing' });
    if (c.store.ttl <= 0) ctx.addIssue({ code: 'custom', path: ['store', 'ttl'], message: 'must be above 0' });
    if (c.store_expiration_loop <= 0) ctx.addIssue({ code: 'custom', path: ['store_expiration_loop'], message: 'must be above 0' });
  });

export type ServiceGraphConfig = z.output<typeof configSchema>;
