/** The payload is not a valid OTLP export request. Receivers answer 400 with this message. */
export class OtlpDecodeError extends Error {
  readonly code = 'OTLP_DECODE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OtlpDecodeError';
  }
}

/**
 * How deep AnyValue may nest (kvlist/array inside kvlist/array …). Real telemetry stays within a few
 * levels; the cap keeps a hostile payload from costing deep recursion.
 */
export const MAX_ANY_VALUE_DEPTH = 32;

export function tooDeep(): OtlpDecodeError {
  return new OtlpDecodeError(`an AnyValue is nested deeper than ${MAX_ANY_VALUE_DEPTH} levels (arrayValue/kvlistValue)`);
}
