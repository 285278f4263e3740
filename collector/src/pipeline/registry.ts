// Every component type the collector knows, by kind. Each lives in components/<kind>s/<type>/.
import { factory as otlpReceiver } from '../components/receivers/otlp/index.js';
import { factory as lokiReceiver } from '../components/receivers/loki/index.js';
import { factory as kafkaReceiver } from '../components/receivers/kafka/index.js';
import { factory as memoryLimiter } from '../components/processors/memory_limiter/index.js';
import { factory as batch } from '../components/processors/batch/index.js';
import { factory as tailSampling } from '../components/processors/tail_sampling/index.js';
import { factory as redaction } from '../components/processors/redaction/index.js';
import { factory as spanmetrics } from '../components/processors/spanmetrics/index.js';
import { factory as servicegraph } from '../components/processors/servicegraph/index.js';
import { factory as otlphttpExporter } from '../components/exporters/otlphttp/index.js';
import { factory as lokiExporter } from '../components/exporters/loki/index.js';
import { factory as prometheusExporter } from '../components/exporters/prometheus/index.js';
import { factory as kafkaExporter } from '../components/exporters/kafka/index.js';
import { factory as storeExporter } from '../components/exporters/store/index.js';
import type { ComponentFactory, ComponentKind } from './types.js';

const factories = new Map<string, ComponentFactory>();
const key = (kind: ComponentKind, type: string) => `${kind}:${type}`;

/** Adds a component type (tests add sinks this way). A later registration of the same type replaces it. */
export function registerFactory(f: ComponentFactory): void {
  factories.set(key(f.kind, f.type), f);
}

export function lookupFactory(kind: ComponentKind, type: string): ComponentFactory | undefined {
  return factories.get(key(kind, type));
}

for (const f of [
  otlpReceiver,
  lokiReceiver,
  kafkaReceiver,
  memoryLimiter,
  batch,
  tailSampling,
  redaction,
  spanmetrics,
  servicegraph,
  otlphttpExporter,
  lokiExporter,
  prometheusExporter,
  kafkaExporter,
  storeExporter,
] as ComponentFactory[]) {
  registerFactory(f);
}
