// The loki receiver's config: the HTTP server settings plus Loki's own per-stream validation limits
// (names and defaults as in Loki's limits_config, so a client sees the answers Loki would give).
import { z } from 'zod';
import { duration } from '../../../config/values.js';
import { httpServerFields } from '../http/config.js';

const KiB = 1024;

export const configSchema = z.preprocess(
  (v) => v ?? {},
  z.strictObject({
    ...httpServerFields('127.0.0.1:3100'),
    /** Header naming the tenant (Loki multi-tenancy); its value is kept as the resource attribute `loki.tenant`. '' ignores it. */
    tenant_header: z.string().default('X-Scope-OrgID'),
    /** Longest accepted log line, in bytes (Loki: 256KB). 0 disables the check. */
    max_line_size: z.number().int().nonnegative().default(256 * KiB),
    /** Most labels a stream may have, not counting service_name (Loki: 15). */
    max_label_names_per_series: z.number().int().positive().default(15),
    max_label_name_length: z.number().int().positive().default(1024),
    max_label_value_length: z.number().int().positive().default(2048),
    /** Structured metadata per entry, in bytes of names plus values (Loki: 64KB). 0 disables. */
    max_structured_metadata_size: z.number().int().nonnegative().default(64 * KiB),
    max_structured_metadata_entries_count: z.number().int().nonnegative().default(128),
    /** Entries older than this are rejected (Loki: 1w with reject_old_samples on). 0 disables. */
    reject_old_samples_max_age: duration().default(7 * 24 * 3_600_000),
    /** Entries further than this in the future are rejected (Loki: 10m). 0 disables. */
    creation_grace_period: duration().default(10 * 60_000),
  }),
);

export type LokiReceiverConfig = z.output<typeof configSchema>;
