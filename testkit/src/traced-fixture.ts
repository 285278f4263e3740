// Runs a fixture in a child process started the way a service starts (the SDK preloaded: the real
// tracer, and pg / ioredis spans only under a parent span), its spans sent to an OTLP receiver.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startOtlpReceiver, type OtlpReceiver } from './otlp.js';

export type ReceivedSpan = ReturnType<OtlpReceiver['spans']>[number];

export interface FixtureRun<T> {
  /** What the fixture sent (process.send) before it shut down. */
  result: T;
  /** Every span it exported (its shutdown flushed them). */
  spans: ReceivedSpan[];
}

/**
 * Forks the fixture at `file` (a file URL, e.g. `new URL('./fixtures/app.ts', import.meta.url)`) with
 * `env` and the SDK preloaded, waits for it to exit 0 and returns what it sent and its spans.
 */
export async function runTracedFixture<T>(file: URL, env: Record<string, string>): Promise<FixtureRun<T>> {
  // resolved from the fixture's package, which depends on the SDK (testkit does not)
  const register = createRequire(file).resolve('@lantern/sdk/register.mjs');
  const receiver = await startOtlpReceiver();
  try {
    const child = fork(fileURLToPath(file), [], {
      execArgv: ['--import', 'tsx/esm', '--import', register],
      env: { ...process.env, OTEL_SERVICE_NAME: 'traced-fixture', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let result: T | undefined;
    child.on('message', (m) => (result = m as T));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    if (code !== 0 || result === undefined) throw new Error(`fixture ${file.pathname} exited with ${code}: ${stderr}`);
    return { result, spans: receiver.spans() };
  } finally {
    await receiver.close();
  }
}

/** The spans whose parent is `parent`. */
export const childrenOf = (spans: readonly ReceivedSpan[], parent: ReceivedSpan | undefined): ReceivedSpan[] =>
  parent ? spans.filter((s) => s.parentSpanId === parent.spanId) : [];

/** The text of a Postgres client span's statement ('' for other spans). */
export const sqlOf = (s: ReceivedSpan): string => (s.attributes['db.system.name'] === 'postgresql' ? String(s.attributes['db.query.text'] ?? '') : '');
