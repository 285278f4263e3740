// The contracts every component is written against. Data flows one way:
// receiver → processors (in pipeline order) → fan-out to exporters.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { DecodedLogRecord, DecodedMetric, DecodedSpan } from '../otlp/types.js';
import type { SelfTelemetry } from '../telemetry/self.js';

export type Signal = 'traces' | 'logs' | 'metrics';
export const SIGNALS: readonly Signal[] = ['traces', 'logs', 'metrics'];

/**
 * What flows through a pipeline of each signal: flat decoded items (resource and scope shared by reference).
 * Spans received as protobuf are WireSpans (otlp/wire-span.ts): their attributes, events, links and times are
 * read from the request's bytes on first use, and they are exported as those bytes unless they were changed.
 */
export interface SignalData {
  traces: DecodedSpan[];
  logs: DecodedLogRecord[];
  metrics: DecodedMetric[];
}

/**
 * The next stage. `consume` resolves once the data is accepted: buffered by a processor, queued by an
 * exporter (persisted, when the exporter has an on-disk queue). It rejects with RefusedError when the
 * data was not kept and may be retried, so a receiver can answer 503/429 and nothing accepted is lost.
 * Callers must not mutate data after handing it on; processors that change items copy what they change
 * (a span with plainSpan(): a spread of a WireSpan misses the fields it reads lazily).
 */
export interface Consumer<S extends Signal> {
  consume(data: SignalData[S]): Promise<void>;
}

/** Shared by every component of one collector process. */
export interface Host {
  /** The collector's own metrics, served on service.telemetry.metrics.address (:8888). */
  readonly telemetry: SelfTelemetry;
  /** Metrics derived from the data (span metrics, service graph), served by the `prometheus` exporter (:8889). */
  readonly derivedMetrics: Registry;
  readonly logger: Logger;
  /** service.data_dir: where components keep files (on-disk queues, the trace store). */
  readonly dataDir: string;
}

export interface Lifecycle {
  /** Called once, before any data arrives (receivers: after their consumers are wired). */
  start?(): Promise<void>;
  /** Flush what is buffered to the next stage, then release resources. Called once, in data-flow order. */
  shutdown(): Promise<void>;
}

export type Receiver = Lifecycle;
export type Processor<S extends Signal> = Consumer<S> & Lifecycle;
export interface Exporter extends Lifecycle {
  /** The consumer for one signal; only called for signals the factory lists. */
  consumer<S extends Signal>(signal: S): Consumer<S>;
}

interface CreateBase<C> {
  /** Full component id, e.g. `otlp` or `batch/fast`. */
  id: string;
  config: C;
  host: Host;
}
export interface ReceiverCreate<C> extends CreateBase<C> {
  /** One consumer per signal this receiver feeds (the fan-out to each pipeline that lists it). */
  consumers: { [S in Signal]?: Consumer<S> };
}
export interface ProcessorCreate<C, S extends Signal> extends CreateBase<C> {
  signal: S;
  /** The pipeline this instance belongs to (processors are instantiated per pipeline). */
  pipeline: string;
  next: Consumer<S>;
}
export type ExporterCreate<C> = CreateBase<C>;

interface FactoryBase<C> {
  /** The part of the id before any `/`. */
  type: string;
  /** Signals the component can be placed in. */
  signals: readonly Signal[];
  /** Validated at start; defaults are applied here, so a component can be listed with an empty body. */
  configSchema: z.ZodType<C>;
}
export interface ReceiverFactory<C = unknown> extends FactoryBase<C> {
  kind: 'receiver';
  create(ctx: ReceiverCreate<C>): Receiver | Promise<Receiver>;
}
export interface ProcessorFactory<C = unknown> extends FactoryBase<C> {
  kind: 'processor';
  create<S extends Signal>(ctx: ProcessorCreate<C, S>): Processor<S> | Promise<Processor<S>>;
}
export interface ExporterFactory<C = unknown> extends FactoryBase<C> {
  kind: 'exporter';
  create(ctx: ExporterCreate<C>): Exporter | Promise<Exporter>;
}
// create() is a method, so a factory of a concrete config type is assignable to the unknown-config form.
export type ComponentFactory = ReceiverFactory | ProcessorFactory | ExporterFactory;
export type ComponentKind = ComponentFactory['kind'];

/** Counts items of any signal: spans, log records or metric data points. */
export function itemCount<S extends Signal>(signal: S, data: SignalData[S]): number {
  if (signal !== 'metrics') return data.length;
  let n = 0;
  for (const m of data as DecodedMetric[]) n += m.dataPoints.length;
  return n;
}

/** The unit each signal is counted in, for metric names (otelcol_receiver_accepted_spans_total, …). */
export const ITEM_NAME: Record<Signal, string> = { traces: 'spans', logs: 'log_records', metrics: 'metric_points' };
