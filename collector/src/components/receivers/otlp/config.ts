// The otlp receiver's config, shaped like the OpenTelemetry Collector's (protocols.http.*).
import { z } from 'zod';
import { httpServerFields } from '../http/config.js';

const urlPath = (def: string) => z.string().regex(/^\/[^?#\s]*$/, 'must be a path starting with /').default(def);

/** `http:` with an empty body (null in YAML) means "on, with defaults", as in the OpenTelemetry Collector. */
const orEmpty = (v: unknown) => (v === null || v === undefined ? {} : v);

const httpSchema = z.strictObject({
  ...httpServerFields('127.0.0.1:4318'),
  traces_url_path: urlPath('/v1/traces'),
  logs_url_path: urlPath('/v1/logs'),
  metrics_url_path: urlPath('/v1/metrics'),
});

export const configSchema = z.preprocess(
  orEmpty,
  z.strictObject({
    protocols: z.preprocess(orEmpty, z.strictObject({ http: z.preprocess(orEmpty, httpSchema) })),
  }),
);

export type OtlpReceiverConfig = z.output<typeof configSchema>;
export type OtlpHttpConfig = z.output<typeof httpSchema>;
