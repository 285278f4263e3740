// The top level of a collector config file: the same layout as the OpenTelemetry Collector's.
// Each component's own body is validated by its factory's schema (see load.ts).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { endpoint } from './values.js';

/** `type` or `type/name`, e.g. `otlp`, `batch/fast`. */
const COMPONENT_ID = /^[a-z][a-z0-9_]*(\/[A-Za-z0-9_.-]+)?$/;
const PIPELINE_ID = /^(traces|logs|metrics)(\/[A-Za-z0-9_.-]+)?$/;

const componentMap = z.record(z.string().regex(COMPONENT_ID, 'component ids are `type` or `type/name`'), z.unknown().transform((v) => v ?? {}));

const pipeline = z.strictObject({
  receivers: z.array(z.string()).min(1, 'a pipeline needs at least one receiver'),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1, 'a pipeline needs at least one exporter'),
});

export const collectorConfigSchema = z.strictObject({
  receivers: componentMap.default({}),
  processors: componentMap.default({}),
  exporters: componentMap.default({}),
  service: z.strictObject({
    /** On-disk queues and the persistent trace store live here. */
    data_dir: z.string().default(join(process.env.LANTERN_HOME ?? join(homedir(), '.lantern'), 'collector')),
    telemetry: z
      .strictObject({
        metrics: z.strictObject({ address: endpoint().default({ host: '127.0.0.1', port: 8888 }) }).prefault({}),
        logs: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info') }).prefault({}),
      })
      .prefault({}),
    pipelines: z.record(z.string().regex(PIPELINE_ID, 'pipeline ids are traces, logs or metrics, optionally /name'), pipeline),
  }),
});

export type CollectorConfig = z.output<typeof collectorConfigSchema>;
export type PipelineConfig = z.output<typeof pipeline>;

/** The type part of a component id: `batch/fast` → `batch`. */
export const componentType = (id: string): string => id.split('/')[0]!;
