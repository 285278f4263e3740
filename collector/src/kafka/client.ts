// What the kafka exporter and the kafka receiver share: the connection settings (brokers, client id,
// SASL, TLS) spelled as the OpenTelemetry Collector's kafka components spell them, the kafkajs client
// built from them, kafkajs logs routed into the collector's logger, and the OTLP message headers.
import { accessSync, constants, readFileSync } from 'node:fs';
import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Signal } from '../pipeline/types.js';

/** Default topic per signal, as in the OpenTelemetry Collector. */
export const DEFAULT_TOPICS: Record<Signal, string> = { traces: 'otlp_spans', logs: 'otlp_logs', metrics: 'otlp_metrics' };

/** Headers on every message the exporter writes; the receiver uses `otlp-signal` when one topic carries several signals. */
export const CONTENT_TYPE_HEADER = 'content-type';
export const SIGNAL_HEADER = 'otlp-signal';
export const OTLP_PROTO_CONTENT_TYPE = 'application/x-protobuf';

/** Only OTLP protobuf is implemented: it is what our own exporter writes and what the contrib collector writes by default. */
export const encoding = () =>
  z.literal('otlp_proto', { error: 'only "otlp_proto" is supported (otlp_json, jaeger_*, zipkin_*, raw are not implemented)' });

/** A list of host:port, or one comma-separated string (as the contrib collector accepts from env vars). */
export const brokers = () =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((b) => b.trim()).filter((b) => b !== ''))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'a broker is host:port')).min(1, 'at least one broker'))
    .default(['127.0.0.1:9092']);

const sasl = z.strictObject({
  mechanism: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']),
  username: z.string().min(1),
  password: z.string(),
});

/** A file read when the client is built: checked at config time so a typo is a ConfigError naming the key. */
const readableFile = () =>
  z.string().refine((f) => {
    try {
      accessSync(f, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }, 'file does not exist or is not readable');

const tls = z.strictObject({
  /** true: plain TCP even though a tls block is present (the collector's configtls spelling). */
  insecure: z.boolean().default(false),
  insecure_skip_verify: z.boolean().default(false),
  ca_file: readableFile().optional(),
  cert_file: readableFile().optional(),
  key_file: readableFile().optional(),
  server_name_override: z.string().optional(),
});

/** Connection keys common to both components. */
export const connectionKeys = {
  brokers: brokers(),
  client_id: z.string().min(1).default('lantern-collector'),
  /** Only `auth.sasl` is supported (kerberos and AWS MSK IAM are not). */
  auth: z.strictObject({ sasl: sasl.optional() }).optional(),
  /** Present → TLS to the brokers (unless `insecure: true`). */
  tls: tls.optional(),
};

export interface ConnectionConfig {
  brokers: string[];
  client_id: string;
  auth?: { sasl?: z.output<typeof sasl> | undefined } | undefined;
  tls?: z.output<typeof tls> | undefined;
}

function tlsOptions(t: z.output<typeof tls>): ConnectionOptions {
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  const opts: ConnectionOptions = { rejectUnauthorized: !t.insecure_skip_verify };
  const ca = read(t.ca_file);
  const cert = read(t.cert_file);
  const key = read(t.key_file);
  if (ca) opts.ca = ca;
  if (cert) opts.cert = cert;
  if (key) opts.key = key;
  if (t.server_name_override) opts.servername = t.server_name_override;
  return opts;
}

function saslOptions(s: z.output<typeof sasl>): SASLOptions {
  switch (s.mechanism) {
    case 'PLAIN':
      return { mechanism: 'plain', username: s.username, password: s.password };
    case 'SCRAM-SHA-256':
      return { mechanism: 'scram-sha-256', username: s.username, password: s.password };
    case 'SCRAM-SHA-512':
      return { mechanism: 'scram-sha-512', username: s.username, password: s.password };
  }
}

/**
 * Warnings about choices made on purpose: the exporter limits the idempotent producer's own retries so a
 * send fails back to the exporterhelper (which retries with backoff and can give up) instead of hanging.
 */
const EXPECTED_WARNINGS = [/^Limiting retries for the idempotent producer/];

/** kafkajs logs into the collector's logger; its INFO is chatty (every join, pause, resume), so it goes to debug. */
function logCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...fields } = log;
      if (level === logLevel.ERROR) logger.error(fields, `kafka: ${message}`);
      else if (level === logLevel.WARN && !EXPECTED_WARNINGS.some((re) => re.test(message))) logger.warn(fields, `kafka: ${message}`);
      else if (level === logLevel.INFO) logger.debug(fields, `kafka: ${message}`);
      else logger.trace(fields, `kafka: ${message}`);
    };
}

/** One kafkajs client per component instance. */
export function kafkaClient(cfg: ConnectionConfig, logger: Logger, opts: { requestTimeoutMs?: number } = {}): Kafka {
  const useTls = cfg.tls !== undefined && !cfg.tls.insecure;
  return new Kafka({
    clientId: cfg.client_id,
    brokers: cfg.brokers,
    ssl: useTls ? tlsOptions(cfg.tls!) : false,
    ...(cfg.auth?.sasl ? { sasl: saslOptions(cfg.auth.sasl) } : {}),
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    connectionTimeout: 3000,
    logLevel: logLevel.INFO,
    logCreator: logCreator(logger),
  });
}

/** A kafka header value as a string (kafkajs gives Buffers, arrays for repeated headers). */
export function headerString(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}
