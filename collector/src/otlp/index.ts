export { decodeTraces, decodeLogs, decodeMetrics, otlpFormat, requestType, OtlpDecodeError, type OtlpFormat } from './codec.js';
export { encodeTraces, encodeLogs, encodeMetrics } from './encode.js';
export type * from './types.js';
