import { z } from 'zod';
import { ConfigError } from './errors.js';

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Options for start(). Every field is optional: unset fields come from the environment. */
export interface StartOptions {
  /** OTEL_SERVICE_NAME (else service.name in OTEL_RESOURCE_ATTRIBUTES, else "unknown_service:node"). */
  serviceName?: string;
  /** SERVICE_VERSION (else npm_package_version, else "0.0.0"). */
  serviceVersion?: string;
  /** DEPLOYMENT_ENVIRONMENT, else NODE_ENV, else "development". */
  environment?: string;
  /** Full traces URL. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces". */
  tracesEndpoint?: string;
  /** OTEL_TRACES_EXPORTER: "otlp" (default) or "none" (spans are still created for log correlation and exemplars, but not exported). */
  tracesExporter?: 'otlp' | 'none';
  /** OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL; default http/protobuf. */
  otlpProtocol?: OtlpProtocol;
  /** OTEL_TRACES_SAMPLER; default parentbased_traceidratio. */
  sampler?: SamplerName;
  /** OTEL_TRACES_SAMPLER_ARG, ratio in [0, 1]; default 1. */
  samplerArg?: number;
  /** Extra resource attributes, merged over OTEL_RESOURCE_ATTRIBUTES. */
  resourceAttributes?: Record<string, string>;
  /** LOKI_URL: when set, logs also go to Loki. */
  lokiUrl?: string;
  /** LOG_LEVEL; default info. */
  logLevel?: LogLevel;
  /** Extra pino redact paths, added to the defaults. */
  redact?: string[];
  /** Who creates HTTP server spans: our lean Koa middleware (default) or instrumentation-http + instrumentation-koa. */
  httpServerSpans?: 'koa' | 'instrumentation';
  /** LANTERN_SHUTDOWN_TIMEOUT_MS; default 10000. */
  shutdownTimeoutMs?: number;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully and exit; default true. */
  handleSignals?: boolean;
}

export interface Config {
  serviceName: string;
  serviceVersion: string;
  environment: string;
  tracesEndpoint: string;
  tracesExporter: 'otlp' | 'none';
  otlpProtocol: OtlpProtocol;
  sampler: SamplerName;
  samplerArg: number;
  resourceAttributes: Record<string, string>;
  lokiUrl: string | undefined;
  logLevel: LogLevel;
  redact: string[];
  httpServerSpans: 'koa' | 'instrumentation';
  shutdownTimeoutMs: number;
  handleSignals: boolean;
}

type Env = Record<string, string | undefined>;

const httpUrl = z.url({ protocol: /^https?$/ });
const nonEmpty = z.string().trim().min(1);

/**
 * Validates one value with zod. On failure the error names where the value came from
 * (the environment variable or `options.x`), what was expected, and what was given.
 */
function check<T>(key: string, schema: z.ZodType<T>, raw: unknown, expectation: string): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ConfigError(key, `${key} ${expectation}, got ${JSON.stringify(raw)}`);
}

/** Picks the explicit option if given, else the first set environment variable; returns the key used for messages. */
function pick<T>(optionName: string, option: T | undefined, env: Env, names: string[]): { key: string; raw: T | string | undefined } {
  if (option !== undefined) return { key: `options.${optionName}`, raw: option };
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') return { key: name, raw: v };
  }
  return { key: names[0] ?? `options.${optionName}`, raw: undefined };
}

/** OTEL_RESOURCE_ATTRIBUTES: comma-separated key=value pairs, values percent-encoded (OTel spec). */
export function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw || raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    if (key === '') {
      throw new ConfigError('OTEL_RESOURCE_ATTRIBUTES', `OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs, got ${JSON.stringify(raw)}`);
    }
    try {
      out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError('OTEL_RESOURCE_ATTRIBUTES', `OTEL_RESOURCE_ATTRIBUTES has a badly percent-encoded value for "${key}"`);
    }
  }
  return out;
}

const samplers = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Resolves options over the environment and validates every value. Throws ConfigError naming the bad key. */
export function resolveConfig(options: StartOptions = {}, env: Env = process.env): Config {
  const fromEnvResource = parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);

  const name = pick('serviceName', options.serviceName, env, ['OTEL_SERVICE_NAME']);
  const serviceName = check(name.key, nonEmpty, name.raw ?? fromEnvResource['service.name'] ?? 'unknown_service:node', 'must be a non-empty string');

  const ver = pick('serviceVersion', options.serviceVersion, env, ['SERVICE_VERSION', 'npm_package_version']);
  const serviceVersion = check(ver.key, nonEmpty, ver.raw ?? fromEnvResource['service.version'] ?? '0.0.0', 'must be a non-empty string');

  const envName = pick('environment', options.environment, env, ['DEPLOYMENT_ENVIRONMENT', 'NODE_ENV']);
  const environment = check(envName.key, nonEmpty, envName.raw ?? fromEnvResource['deployment.environment.name'] ?? 'development', 'must be a non-empty string');

  let tracesEndpoint: string;
  const traces = pick('tracesEndpoint', options.tracesEndpoint, env, ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  if (traces.raw !== undefined) {
    tracesEndpoint = check(traces.key, httpUrl, traces.raw, 'must be an http(s) URL');
  } else {
    const base = check('OTEL_EXPORTER_OTLP_ENDPOINT', httpUrl, env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318', 'must be an http(s) URL');
    // the spec: the base endpoint gets the signal path appended
    tracesEndpoint = `${base.replace(/\/+$/, '')}/v1/traces`;
  }

  const exp = pick('tracesExporter', options.tracesExporter, env, ['OTEL_TRACES_EXPORTER']);
  const tracesExporter = check(exp.key, z.enum(['otlp', 'none']), exp.raw ?? 'otlp', 'must be "otlp" or "none"');

  const proto = pick('otlpProtocol', options.otlpProtocol, env, ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']);
  const otlpProtocol = check(proto.key, z.enum(['http/protobuf', 'http/json']), proto.raw ?? 'http/protobuf', 'must be "http/protobuf" or "http/json" (grpc is not supported)');

  const samp = pick('sampler', options.sampler, env, ['OTEL_TRACES_SAMPLER']);
  const sampler = check(samp.key, z.enum(samplers), samp.raw ?? 'parentbased_traceidratio', `must be one of ${samplers.join(', ')}`);

  const arg = pick('samplerArg', options.samplerArg, env, ['OTEL_TRACES_SAMPLER_ARG']);
  const ratio = z.union([z.number(), z.string().trim().regex(/^[0-9.eE+-]+$/).transform(Number)]).pipe(z.number().min(0).max(1));
  const samplerArg = check(arg.key, ratio, arg.raw ?? 1, 'must be a number between 0 and 1');

  const loki = pick('lokiUrl', options.lokiUrl, env, ['LOKI_URL']);
  const lokiUrl = loki.raw === undefined ? undefined : check(loki.key, httpUrl, loki.raw, 'must be an http(s) URL');

  const lvl = pick('logLevel', options.logLevel, env, ['LOG_LEVEL']);
  const logLevel = check(lvl.key, z.enum(levels), typeof lvl.raw === 'string' ? lvl.raw.toLowerCase() : 'info', `must be one of ${levels.join(', ')}`);

  const tmo = pick('shutdownTimeoutMs', options.shutdownTimeoutMs, env, ['LANTERN_SHUTDOWN_TIMEOUT_MS']);
  const ms = z.union([z.number(), z.string().trim().regex(/^\d+$/).transform(Number)]).pipe(z.number().int().positive());
  const shutdownTimeoutMs = check(tmo.key, ms, tmo.raw ?? 10_000, 'must be a positive whole number of milliseconds');

  const redact = check('options.redact', z.array(nonEmpty), options.redact ?? [], 'must be an array of pino redact paths');
  const httpServerSpans = check('options.httpServerSpans', z.enum(['koa', 'instrumentation']), options.httpServerSpans ?? 'koa', 'must be "koa" or "instrumentation"');
  const extra = check('options.resourceAttributes', z.record(z.string(), z.string()), options.resourceAttributes ?? {}, 'must be an object of string values');

  return {
    serviceName,
    serviceVersion,
    environment,
    tracesEndpoint,
    tracesExporter,
    otlpProtocol,
    sampler,
    samplerArg,
    resourceAttributes: { ...fromEnvResource, ...extra },
    lokiUrl,
    logLevel,
    redact,
    httpServerSpans,
    shutdownTimeoutMs,
    handleSignals: options.handleSignals ?? true,
  };
}
