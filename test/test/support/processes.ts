// Starts shop services as real processes (each with the SDK registered, as `npm run demo` does) and
// stops them at the end of a test file. Logs go to a temp dir that is printed when a start fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface RunningProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  logFile: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A free loopback port (the OS picks one; a race with another process is possible but harmless in tests). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

const logDir = mkdtempSync(join(tmpdir(), 'lantern-e2e-'));

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) ok(child.exitCode);
    else child.once('exit', (code) => ok(code));
  });
}

async function waitReady(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
}

/**
 * Runs shop-services/<name>/src/main.ts with the SDK's register hook, on a free port, and waits for
 * /readyz. `env` is added to this process's environment.
 */
export async function startService(name: string, env: Record<string, string>, opts: { port?: number; readyTimeoutMs?: number } = {}): Promise<RunningProcess> {
  const port = opts.port ?? (await freePort());
  const logFile = join(logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx/esm', '--import', '@lantern/sdk/register', 'src/main.ts'], {
    cwd: join(repoRoot, 'shop-services', name),
    env: { ...process.env, OTEL_SERVICE_NAME: name, PORT: String(port), HOST: '127.0.0.1', LOKI_URL: '', KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, logFile, opts.readyTimeoutMs ?? 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  return {
    name,
    url,
    port,
    pid: child.pid ?? 0,
    logFile,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}
