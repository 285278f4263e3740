/** An attribute or log body value. int64 beyond 2^53 stays a decimal string; bytes are base64. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

export type Attributes = Record<string, OtlpValue>;

export interface Scope {
  name: string;
  version?: string;
  attributes: Attributes;
}

/** Shared by every item of the same resource block (same object, not copies). */
export interface ResourceInfo {
  attributes: Attributes;
  schemaUrl?: string;
}

export type SpanKindName = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCodeName = 'unset' | 'ok' | 'error';

export interface DecodedSpan {
  /** 32 lower-case hex chars. */
  traceId: string;
  /** 16 lower-case hex chars. */
  spanId: string;
  /** Absent for root spans. */
  parentSpanId?: string;
  traceState?: string;
  flags: number;
  name: string;
  kind: SpanKindName;
  /** Nanoseconds since the epoch, as a decimal string (exceeds Number precision). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: { name: string; timeUnixNano: string; attributes: Attributes }[];
  links: { traceId: string; spanId: string; traceState?: string; attributes: Attributes }[];
  status: { code: StatusCodeName; message?: string };
  resource: ResourceInfo;
  scope: Scope;
}

export interface DecodedLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText?: string;
  body: OtlpValue;
  attributes: Attributes;
  traceId?: string;
  spanId?: string;
  flags: number;
  eventName?: string;
  resource: ResourceInfo;
  scope: Scope;
}

export type Temporality = 'unspecified' | 'delta' | 'cumulative';

export interface Exemplar {
  timeUnixNano: string;
  value: number;
  traceId?: string;
  spanId?: string;
  filteredAttributes: Attributes;
}

interface PointBase {
  attributes: Attributes;
  startTimeUnixNano: string;
  timeUnixNano: string;
  flags: number;
}

export interface NumberPoint extends PointBase {
  value: number;
  exemplars: Exemplar[];
}

export interface HistogramPoint extends PointBase {
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  bucketCounts: number[];
  explicitBounds: number[];
  exemplars: Exemplar[];
}

export interface ExponentialHistogramPoint extends PointBase {
  count: number;
  sum?: number;
  min?: number;
  max?: number;
  scale: number;
  zeroCount: number;
  zeroThreshold: number;
  positive: { offset: number; bucketCounts: number[] };
  negative: { offset: number; bucketCounts: number[] };
  exemplars: Exemplar[];
}

export interface SummaryPoint extends PointBase {
  count: number;
  sum: number;
  quantileValues: { quantile: number; value: number }[];
}

interface MetricBase {
  name: string;
  description?: string;
  unit?: string;
  resource: ResourceInfo;
  scope: Scope;
}

export type DecodedMetric = MetricBase &
  (
    | { type: 'gauge'; dataPoints: NumberPoint[] }
    | { type: 'sum'; temporality: Temporality; isMonotonic: boolean; dataPoints: NumberPoint[] }
    | { type: 'histogram'; temporality: Temporality; dataPoints: HistogramPoint[] }
    | { type: 'exponentialHistogram'; temporality: Temporality; dataPoints: ExponentialHistogramPoint[] }
    | { type: 'summary'; dataPoints: SummaryPoint[] }
    | { type: 'empty'; dataPoints: [] }
  );
