// lantern-alerting: the alert engine as a process. Configuration comes from the environment (validated
// here; an error names the variable); SIGHUP reloads the Alertmanager config and rule files.
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { z } from 'zod';
import { parseGoDuration } from './config/alertmanager-values.js';
import { defaultReplicaName, startEngine } from './engine.js';
import { AlertingError } from './model/errors.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const hostPort = z.string().regex(/^[^:]*:\d{1,5}$/, 'must be host:port').transform((v) => {
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i) || '0.0.0.0', port: Number(v.slice(i + 1)) };
});
const durationMs = z.string().transform((v, ctx) => {
  try {
    return parseGoDuration(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration (e.g. 30s, 1m)` });
    return z.NEVER;
  }
});
const url = z.url({ protocol: /^https?$/ });

const envSchema = z.object({
  ALERTING_LISTEN: hostPort.default({ host: '127.0.0.1', port: 9093 }),
  ALERTING_EXTERNAL_URL: url.optional(),
  ALERTMANAGER_CONFIG: z.string().default(here('../config/local.yml')),
  ALERTING_RULE_FILES: z.string().default(here('../rules/*.yml')),
  PROMETHEUS_URL: url.default('http://127.0.0.1:9090'),
  ALERTING_EVALUATION_INTERVAL: durationMs.default(30_000),
  ALERTING_QUERY_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/postgres'),
  ALERTING_DB_SCHEMA: z.string().default('alerting'),
  ALERTING_ACK_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)'),
  ALERTING_TRACE_URL: z.string().default('http://127.0.0.1:16686/trace/{traceId}'),
  ALERTING_LOGS_KIND: z.enum(['collector', 'loki', 'none']).default('collector'),
  ALERTING_LOGS_URL: url.default('http://127.0.0.1:16686'),
  ALERTING_LOCAL_SLACK: z.enum(['true', 'false']).default('false'),
  ALERTING_REPLICA: z.string().min(1).default(defaultReplicaName()),
  ALERTING_LEASE_TTL: durationMs.default(15_000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  const issue = parsed.error.issues[0]!;
  console.error(`alerting: invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  process.exit(2);
}
const env = parsed.data;
const logger = pino({ name: 'lantern-alerting', level: env.LOG_LEVEL, redact: ['*.ackSecret', '*.password', '*.api_url', '*.url'] });

try {
  const engine = await startEngine({
    listen: env.ALERTING_LISTEN,
    externalURL: env.ALERTING_EXTERNAL_URL ?? `http://${env.ALERTING_LISTEN.host === '0.0.0.0' ? '127.0.0.1' : env.ALERTING_LISTEN.host}:${env.ALERTING_LISTEN.port}`,
    alertmanagerConfigFile: env.ALERTMANAGER_CONFIG,
    ruleFiles: env.ALERTING_RULE_FILES.split(',').map((f) => f.trim()).filter(Boolean),
    prometheusUrl: env.PROMETHEUS_URL,
    evaluationIntervalMs: env.ALERTING_EVALUATION_INTERVAL,
    queryConcurrency: env.ALERTING_QUERY_CONCURRENCY,
    databaseUrl: env.DATABASE_URL,
    schema: env.ALERTING_DB_SCHEMA,
    ackSecret: env.ALERTING_ACK_SECRET,
    traceUrl: env.ALERTING_TRACE_URL,
    ...(env.ALERTING_LOGS_KIND === 'none' ? {} : { logs: { kind: env.ALERTING_LOGS_KIND, url: env.ALERTING_LOGS_URL } }),
    localSlackSink: env.ALERTING_LOCAL_SLACK === 'true',
    replica: env.ALERTING_REPLICA,
    leaseTtlMs: env.ALERTING_LEASE_TTL,
    logger,
  });
  if (process.env.LANTERN_ALERTING_PRINT_URL === '1') process.stdout.write(`${JSON.stringify({ url: engine.url })}\n`);
  process.on('SIGHUP', () => {
    engine.reload().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'reload refused; the running config is kept'));
  });
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      engine.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (err) {
  // a bad config (exit 2) or a start-up failure such as a taken port (exit 1): one clear line, no stack
  console.error(`alerting: ${(err as Error).message}`);
  process.exit(err instanceof AlertingError ? 2 : 1);
}
