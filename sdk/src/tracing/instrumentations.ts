import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { KoaInstrumentation, KoaLayerType } from '@opentelemetry/instrumentation-koa';
import type { Config } from '../config.js';

/**
 * The instrumentations we enable. Deliberate choices:
 * - incoming HTTP spans come from our lean koaTracing() middleware unless httpServerSpans is 'instrumentation'
 *   (http + koa instrumentation roughly halves Koa throughput);
 * - undici/fetch client spans come from the SDK's own diagnostics-channel subscriber (undici-spans.ts),
 *   not instrumentation-undici, which costs several times as much per request;
 * - no knex instrumentation: it wraps every pg span in a second DB span;
 * - pg connect spans are noise, so they are ignored, and so are queries with no parent span (background polls;
 *   work found by a poll runs in a span of its own, and its queries are traced there).
 */
export function createInstrumentations(config: Pick<Config, 'httpServerSpans'>): Instrumentation[] {
  const viaInstrumentation = config.httpServerSpans === 'instrumentation';
  const list: Instrumentation[] = [
    new HttpInstrumentation({ disableIncomingRequestInstrumentation: !viaInstrumentation }),
    // requireParentSpan: a query outside any span is a background poll (outbox relays, schedulers,
    // sweepers run several a second); as root spans they would flood the trace store with one-span traces
    new PgInstrumentation({ ignoreConnectSpans: true, requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
    new KafkaJsInstrumentation(),
  ];
  if (viaInstrumentation) list.push(new KoaInstrumentation({ ignoreLayersType: [KoaLayerType.MIDDLEWARE] }));
  return list;
}
