import { trace, type Attributes, type Span } from '@opentelemetry/api';
import { inJobSpan as inSpan } from '@lantern/shop-common';

export { recordFailure } from '@lantern/shop-common';

const tracer = trace.getTracer('@lantern/shop-inventory');

/** A background run's work in an INTERNAL span of this service's tracer (see shop-common's inJobSpan). */
export function inJobSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
  return inSpan(tracer, name, attributes, fn);
}
