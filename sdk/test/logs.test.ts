import test from 'ava';
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../src/logs/index.js';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = new BasicTracerProvider().getTracer('logs-test');

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

test('lines inside a span carry its trace_id and span_id; service, env, version in every line', (t) => {
  const out = capture();
  const logger = createLogger({ service: 'svc', env: 'test', version: '1.2.3', destination: out.stream });
  logger.info('outside');
  const span = tracer.startSpan('work');
  context.with(trace.setSpan(context.active(), span), () => logger.info('inside'));
  span.end();
  const [outside, inside] = out.lines;
  t.is(outside?.trace_id, undefined);
  t.is(inside?.trace_id, span.spanContext().traceId);
  t.is(inside?.span_id, span.spanContext().spanId);
  t.like(inside, { service: 'svc', env: 'test', version: '1.2.3', level: 'info', msg: 'inside' });
  t.false('hostname' in (inside ?? {}), 'no hostname: it would become a Loki label');
});

test('secrets are redacted by default, plus user-added paths', (t) => {
  const out = capture();
  const logger = createLogger({ service: 'svc', destination: out.stream, redact: ['customer.ssn'] });
  logger.info(
    {
      password: 'hunter2',
      user: { name: 'ann', password: 'p4ss' },
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: 'json' } },
      payment: { cardNumber: '4111111111111111', card: { number: '4111111111111111' } },
      card: { number: '5500000000000004' },
      token: 't',
      session: { accessToken: 'a', refreshToken: 'r', apiKey: 'k', secret: 's', pan: '4111' },
      customer: { ssn: '123-45-6789', city: 'Oslo' },
    },
    'checkout',
  );
  const line = out.lines[0] as Record<string, Record<string, unknown>>;
  const text = JSON.stringify(line);
  for (const secret of ['hunter2', 'p4ss', 'Bearer abc', 'sid=1', '4111111111111111', '5500000000000004', '123-45-6789']) {
    t.false(text.includes(secret), `${secret} leaked`);
  }
  t.is(line.password as unknown, '[REDACTED]');
  t.is(line.user?.password, '[REDACTED]');
  t.is(line.user?.name, 'ann');
  t.deepEqual(line.req?.headers, { authorization: '[REDACTED]', cookie: '[REDACTED]', accept: 'json' });
  t.deepEqual(line.card, { number: '[REDACTED]' });
  t.deepEqual(line.session, { accessToken: '[REDACTED]', refreshToken: '[REDACTED]', apiKey: '[REDACTED]', secret: '[REDACTED]', pan: '[REDACTED]' });
  t.deepEqual(line.customer, { ssn: '[REDACTED]', city: 'Oslo' });
});
