// Settings every HTTP receiver shares, spelled like the OpenTelemetry Collector's confighttp.ServerConfig.
import { z } from 'zod';
import { duration, endpoint } from '../../../config/values.js';

export const MiB = 1024 * 1024;

/** The keys of an HTTP server block; `defaultEndpoint` differs per receiver (4318 for OTLP, 3100 for Loki). */
export function httpServerFields(defaultEndpoint: string) {
  return {
    /** host:port to listen on. Loopback by default: exposing the receiver is a deliberate choice. */
    endpoint: endpoint().prefault(defaultEndpoint),
    /** Largest accepted body in bytes, counted after decompression. */
    max_request_body_size: z.number().int().positive().default(20 * MiB),
    auth: z
      .strictObject({
        /** When set, every request must carry `Authorization: Bearer <token>`. */
        bearer_token: z.string().min(1),
      })
      .optional(),
    cors: z
      .strictObject({
        allowed_origins: z.array(z.string().min(1)).default([]),
        allowed_headers: z.array(z.string().min(1)).default([]),
        max_age: z.number().int().nonnegative().default(7200),
      })
      .optional(),
    /** Time allowed for a request's headers to arrive. */
    read_header_timeout: duration().default(10_000),
    /** Time allowed for a whole request (headers and body) to arrive. */
    read_timeout: duration().default(60_000),
    /** How long an idle keep-alive connection stays open. */
    idle_timeout: duration().default(60_000),
  };
}

const _example = z.strictObject(httpServerFields('127.0.0.1:0'));
export type HttpServerSettings = z.output<typeof _example>;
