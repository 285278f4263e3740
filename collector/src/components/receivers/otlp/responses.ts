// OTLP/HTTP response bodies: Export*ServiceResponse on success, google.rpc.Status on failure, each in
// the encoding of the request (protobuf or JSON).
import type { ServerResponse } from 'node:http';
import protobuf from 'protobufjs';
import { otlpType, type OtlpFormat } from '../../../otlp/codec.js';
import type { Signal } from '../../../pipeline/types.js';

/** google.rpc.Code values used in Status bodies. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC code that matches an HTTP status, for the Status body. */
export function rpcCodeFor(httpStatus: number): number {
  switch (httpStatus) {
    case 401:
      return RpcCode.UNAUTHENTICATED;
    case 404:
      return RpcCode.NOT_FOUND;
    case 405:
    case 415:
      return RpcCode.UNIMPLEMENTED;
    case 429:
      return RpcCode.RESOURCE_EXHAUSTED;
    case 503:
      return RpcCode.UNAVAILABLE;
    default:
      return httpStatus >= 500 ? RpcCode.INTERNAL : RpcCode.INVALID_ARGUMENT;
  }
}

// google/rpc/status.proto (Apache-2.0): code = 1, message = 2, details = 3 (never sent, so left out)
const statusType = protobuf.Root.fromJSON({
  nested: { google: { nested: { rpc: { nested: { Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 } } } } } } } },
}).lookupType('google.rpc.Status');

export const CONTENT_TYPE: Record<OtlpFormat, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

export function statusBody(format: OtlpFormat, code: number, message: string): Buffer {
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(statusType.encode(statusType.create({ code, message })).finish());
}

const RESPONSE: Record<Signal, { type: string; rejectedField: string }> = {
  traces: { type: 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse', rejectedField: 'rejectedSpans' },
  logs: { type: 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse', rejectedField: 'rejectedLogRecords' },
  metrics: { type: 'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse', rejectedField: 'rejectedDataPoints' },
};

/** Export*ServiceResponse, with partialSuccess only when something was rejected (the collector leaves it unset otherwise). */
export function exportResponseBody(signal: Signal, format: OtlpFormat, rejected: number, errorMessage: string): Buffer {
  const { type, rejectedField } = RESPONSE[signal];
  if (format === 'json') {
    // proto3 JSON writes int64 as a decimal string
    const body = rejected > 0 ? { partialSuccess: { [rejectedField]: String(rejected), errorMessage } } : {};
    return Buffer.from(JSON.stringify(body));
  }
  if (rejected === 0) return Buffer.alloc(0);
  const t = otlpType(type);
  return Buffer.from(t.encode(t.fromObject({ partialSuccess: { [rejectedField]: rejected, errorMessage } })).finish());
}

// The success answer without partial success is the same for every request: an empty protobuf message or `{}`.
// Headers as a flat array (no object to walk) and the body as a string, which node joins to the header
// block: one socket write per response, where a Buffer body went out as a writev of header and body.
const EMPTY_SUCCESS: Record<OtlpFormat, { headers: string[]; body: string }> = {
  protobuf: { headers: ['content-type', CONTENT_TYPE.protobuf, 'content-length', '0'], body: '' },
  json: { headers: ['content-type', CONTENT_TYPE.json, 'content-length', '2'], body: '{}' },
};

/** 200 with an empty Export*ServiceResponse (nothing rejected), in the request's encoding. */
export function sendEmptySuccess(res: ServerResponse, format: OtlpFormat): void {
  const { headers, body } = EMPTY_SUCCESS[format];
  res.writeHead(200, headers);
  res.end(body, 'latin1');
}
