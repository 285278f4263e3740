import { context, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import client from 'prom-client';

/** Sum of a metric's samples whose labels include `labels` (0 if none yet). */
export async function metricValue(metric: string, labels: Record<string, string>): Promise<number> {
  const m = client.register.getSingleMetric(metric);
  if (!m) return 0;
  const data = await m.get();
  return data.values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A real tracer whose finished spans are kept in memory, so tests can read span events. */
export function setUpTracing(): { tracer: Tracer; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { tracer: trace.getTracer('resilience-test'), exporter };
}

/** Runs fn inside a span and returns the finished span. */
export async function inSpan(tracer: Tracer, exporter: InMemorySpanExporter, fn: () => Promise<unknown>): Promise<ReadableSpan> {
  const spanName = `test-${Math.random().toString(36).slice(2)}`;
  await tracer.startActiveSpan(spanName, async (span) => {
    try {
      await fn();
    } catch {
      // The test checks outcomes itself; here we only want the span.
    } finally {
      span.end();
    }
  });
  const found = exporter.getFinishedSpans().find((s) => s.name === spanName);
  if (!found) throw new Error(`span ${spanName} not exported`);
  return found;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets already-queued promise callbacks and microtasks run. */
export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
