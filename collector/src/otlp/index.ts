export { decodeTraces, decodeLogs, decodeMetrics, otlpFormat, OtlpDecodeError, type OtlpFormat } from './codec.js';
export type * from './types.js';
