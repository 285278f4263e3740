export { decodeTraces, decodeTracesLazy, decodeLogs, decodeMetrics, otlpFormat, requestType, OtlpDecodeError, type OtlpFormat } from './codec.js';
export { encodeTraces, encodeLogs, encodeMetrics } from './encode.js';
export type * from './types.js';
export { WireSpan, plainSpan } from './wire-span.js';
