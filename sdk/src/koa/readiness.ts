import { LanternKoaError } from './koa-errors.js';

/** Resolves when the dependency is usable, rejects (or never settles) when it is not. */
export type ReadinessCheck = () => Promise<unknown>;

export interface CheckResult {
  status: 'up' | 'down';
  duration_ms: number;
  /** Only for down checks: "timed out after 2000 ms", a {@link DependencyDownError} message, or the error's code/name. */
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  failed: string[];
  checks: Record<string, CheckResult>;
}

/**
 * A check failed for a reason that is safe to show in /readyz ("redis connection is reconnecting").
 * Other errors are shown only by their code or class name; their message goes to the log.
 */
export class DependencyDownError extends LanternKoaError {
  constructor(message: string) {
    super('LANTERN_DEPENDENCY_DOWN', message);
  }
}

class CheckTimeoutError extends LanternKoaError {
  constructor(ms: number) {
    super('LANTERN_CHECK_TIMEOUT', `timed out after ${ms} ms`);
  }
}

/** Named dependency checks for /readyz. Checks may be added after the middleware is created. */
export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>();

  constructor(initial?: Iterable<[string, ReadinessCheck]> | Record<string, ReadinessCheck>) {
    if (initial === undefined) return;
    const entries = Symbol.iterator in initial ? initial : Object.entries(initial);
    for (const [name, check] of entries as Iterable<[string, ReadinessCheck]>) this.add(name, check);
  }

  add(name: string, check: ReadinessCheck): this {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new TypeError(`readiness check name must match [A-Za-z0-9_.-]{1,64}, got ${JSON.stringify(name)}`);
    this.checks.set(name, check);
    return this;
  }

  remove(name: string): boolean {
    return this.checks.delete(name);
  }

  get names(): string[] {
    return [...this.checks.keys()];
  }

  /**
   * Runs every check concurrently, each bounded by `timeoutMs`. `onFailure` receives the full
   * error of each failed check (for the log).
   */
  async run(timeoutMs: number, onFailure?: (name: string, err: unknown) => void): Promise<ReadinessReport> {
    const entries = [...this.checks];
    const results = await Promise.all(entries.map(([name, check]) => runOne(name, check, timeoutMs, onFailure)));
    const checks: Record<string, CheckResult> = {};
    const failed: string[] = [];
    entries.forEach(([name], i) => {
      const r = results[i] as CheckResult;
      checks[name] = r;
      if (r.status === 'down') failed.push(name);
    });
    return { ready: failed.length === 0, failed, checks };
  }
}

async function runOne(name: string, check: ReadinessCheck, timeoutMs: number, onFailure?: (name: string, err: unknown) => void): Promise<CheckResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    // a check that throws synchronously is a failed check, not a crashed probe
    await Promise.race([Promise.resolve().then(check), timeout]);
    return { status: 'up', duration_ms: elapsed(start) };
  } catch (err) {
    onFailure?.(name, err);
    return { status: 'down', duration_ms: elapsed(start), error: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

function describe(err: unknown): string {
  if (err instanceof DependencyDownError || err instanceof CheckTimeoutError) return err.message;
  if (typeof err === 'object' && err !== null) {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'error';
}
