import test from 'ava';
import { resolveConfig, parseResourceAttributes } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { runFixture } from './fixtures/spawn.js';
import { startOtlpReceiver } from '@lantern/testkit';

test('defaults come from the environment', (t) => {
  const c = resolveConfig(
    {},
    {
      OTEL_SERVICE_NAME: 'orders',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_RESOURCE_ATTRIBUTES: 'team=shop,region=eu%2Dwest',
      NODE_ENV: 'production',
      SERVICE_VERSION: '1.4.2',
      LOKI_URL: 'http://loki:3100',
      LOG_LEVEL: 'WARN',
    },
  );
  t.is(c.serviceName, 'orders');
  t.is(c.tracesEndpoint, 'http://collector:4318/v1/traces');
  t.is(c.samplerArg, 0.25);
  t.is(c.environment, 'production');
  t.is(c.serviceVersion, '1.4.2');
  t.is(c.lokiUrl, 'http://loki:3100');
  t.is(c.logLevel, 'warn');
  t.deepEqual(c.resourceAttributes, { team: 'shop', region: 'eu-west' });
  t.is(c.otlpProtocol, 'http/protobuf');
  t.is(c.httpServerSpans, 'koa');
  t.is(c.shutdownTimeoutMs, 10_000);
});

test('explicit options win; traces endpoint and DEPLOYMENT_ENVIRONMENT take precedence', (t) => {
  const c = resolveConfig(
    { serviceName: 'explicit', samplerArg: 0 },
    {
      OTEL_SERVICE_NAME: 'env',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/custom/traces',
      DEPLOYMENT_ENVIRONMENT: 'staging',
      NODE_ENV: 'production',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    },
  );
  t.is(c.serviceName, 'explicit');
  t.is(c.samplerArg, 0);
  t.is(c.tracesEndpoint, 'http://b:4318/custom/traces');
  t.is(c.environment, 'staging');
  t.is(c.otlpProtocol, 'http/json');
});

test('OTEL_TRACES_EXPORTER defaults to otlp and accepts none', (t) => {
  t.is(resolveConfig({}, {}).tracesExporter, 'otlp');
  t.is(resolveConfig({}, { OTEL_TRACES_EXPORTER: 'none' }).tracesExporter, 'none');
});

const bad: [Record<string, string>, string][] = [
  [{ OTEL_TRACES_SAMPLER_ARG: 'abc' }, 'OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1, got "abc"'],
  [{ OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1, got "1.5"'],
  [{ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER must be one of'],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL'],
  [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL must be "http/protobuf" or "http/json"'],
  [{ LOKI_URL: 'not a url' }, 'LOKI_URL must be an http(s) URL'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of'],
  [{ OTEL_TRACES_EXPORTER: 'jaeger' }, 'OTEL_TRACES_EXPORTER must be "otlp" or "none"'],
  [{ OTEL_RESOURCE_ATTRIBUTES: 'novalue,=x' }, 'OTEL_RESOURCE_ATTRIBUTES must be comma-separated key=value pairs'],
  [{ LANTERN_SHUTDOWN_TIMEOUT_MS: '-5' }, 'LANTERN_SHUTDOWN_TIMEOUT_MS must be a positive whole number'],
];
for (const [env, message] of bad) {
  test(`bad ${Object.entries(env)[0]?.join('=')} → ConfigError naming the variable`, (t) => {
    const err = t.throws(() => resolveConfig({}, env), { instanceOf: ConfigError });
    t.true(err?.message.startsWith(message), err?.message);
    t.is(err?.key ?? '', Object.keys(env)[0] ?? 'missing');
    t.is(err?.code, 'LANTERN_CONFIG_INVALID');
  });
}

test('a bad option names the option', (t) => {
  const err = t.throws(() => resolveConfig({ samplerArg: 2 }, {}), { instanceOf: ConfigError });
  t.is(err?.message, 'options.samplerArg must be a number between 0 and 1, got 2');
});

test('resource attributes are percent-decoded', (t) => {
  t.deepEqual(parseResourceAttributes('a=1, b = x%20y ,'), { a: '1', b: 'x y' });
});

test('the preload refuses to start with a bad env value, naming the variable', async (t) => {
  const app = runFixture('./sigterm-app.ts', { OTEL_TRACES_SAMPLER_ARG: 'abc', OTEL_SERVICE_NAME: 'bad-env' });
  t.teardown(() => app.kill());
  const exit = await app.exited;
  t.is(exit.code, 1);
  t.regex(app.stderr(), /OTEL_TRACES_SAMPLER_ARG must be a number between 0 and 1, got "abc"/);
  t.false(app.logs().some((l) => l.service === 'bad-env'), 'the app never ran');
});

test('with OTEL_TRACES_EXPORTER=none spans still record and log lines still carry their trace id', async (t) => {
  const app = runFixture('./exporter-none-app.ts', { OTEL_TRACES_EXPORTER: 'none', OTEL_SERVICE_NAME: 'no-export' });
  t.teardown(() => app.kill());
  const msg = await app.message<{ traceId: string; recording: boolean }>((m) => m.type === 'span', 'span message');
  t.true(msg.recording);
  t.regex(msg.traceId, /^(?!0{32})[0-9a-f]{32}$/);
  app.child.kill('SIGTERM');
  await app.exited;
  const line = app.logs().find((l) => l.msg === 'inside the span');
  t.is(line?.trace_id, msg.traceId);
});

test('spans dropped by a full export queue are reported in the service log, not silently', async (t) => {
  const receiver = await startOtlpReceiver();
  const app = runFixture('./span-drop-app.ts', {
    OTEL_SERVICE_NAME: 'span-drop',
    OTEL_BSP_MAX_QUEUE_SIZE: '10',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  });
  t.teardown(async () => {
    app.kill();
    await receiver.close();
  });
  await app.message((m) => m.type === 'done', 'done message');
  app.child.kill('SIGTERM');
  await app.exited;
  const drop = app.logs().find((l) => l.component === 'opentelemetry' && /Dropped \d+ spans/.test(String(l.msg)));
  t.truthy(drop, `no drop warning in ${JSON.stringify(app.logs().map((l) => l.msg))}`);
  t.is(drop?.level, 'warn');
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json exports the spans as OTLP JSON', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const app = runFixture('./exporter-none-app.ts', {
    OTEL_SERVICE_NAME: 'json-export',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  });
  t.teardown(() => app.kill());
  const msg = await app.message<{ traceId: string }>((m) => m.type === 'span', 'span message');
  app.child.kill('SIGTERM');
  t.is((await app.exited).code, 0, app.stderr());
  const spans = await receiver.waitForSpans((all) => all.some((s) => s.name === 'unexported work'));
  t.is(spans.find((s) => s.name === 'unexported work')?.traceId, msg.traceId);
  t.true(receiver.formats().length > 0);
  t.true(receiver.formats().every((f) => f === 'json'), `formats: ${receiver.formats().join(',')}`);
});
