import type { Server } from 'node:http';
import type { Logger } from 'pino';

export type ShutdownHook = () => Promise<void> | void;

export interface ShutdownPlan {
  /** Total budget for the whole sequence. */
  timeoutMs: number;
  logger: Logger;
  /** Run last, in order, with a reserved slice of the budget: flush spans, metrics, then logs. Each runs even if an earlier one failed. */
  flush: { name: string; fn: () => Promise<void> | void }[];
}

export interface ShutdownResult {
  /** true when every step finished in time and none threw. */
  clean: boolean;
  failed: string[];
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), Math.max(0, ms));
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    // close() stops accepting and resolves once in-flight requests are done; idle keep-alive
    // sockets would otherwise hold it open until their timeout
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

/**
 * Ordered graceful shutdown: stop accepting (close servers), drain (hooks in registration order),
 * then flush telemetry. The flush gets a reserved part of the budget so a slow drain cannot cost us
 * the spans that explain it.
 */
export class Shutdown {
  readonly #servers: Server[] = [];
  readonly #hooks: { name: string; fn: ShutdownHook }[] = [];
  #running: Promise<ShutdownResult> | undefined;
  #signalsInstalled = false;

  constructor(private readonly plan: ShutdownPlan) {}

  get started(): boolean {
    return this.#running !== undefined;
  }

  addServer(server: Server): void {
    this.#servers.push(server);
  }

  onShutdown(name: string, fn: ShutdownHook): void {
    this.#hooks.push({ name, fn });
  }

  /** Runs the sequence once; later calls return the same promise. Never rejects. */
  run(reason: string): Promise<ShutdownResult> {
    this.#running ??= this.#sequence(reason);
    return this.#running;
  }

  async #sequence(reason: string): Promise<ShutdownResult> {
    const { logger, timeoutMs } = this.plan;
    const deadline = Date.now() + timeoutMs;
    const flushReserve = Math.min(2_000, Math.floor(timeoutMs / 4));
    const failed: string[] = [];
    logger.info({ reason, timeoutMs }, 'shutting down');

    const step = async (name: string, fn: () => Promise<void> | void, until: number) => {
      try {
        await withDeadline(Promise.resolve().then(fn), until - Date.now(), name);
      } catch (err) {
        failed.push(name);
        logger.error({ err, step: name }, 'shutdown step failed');
      }
    };

    const drainUntil = deadline - flushReserve;
    await step('close servers', () => Promise.all(this.#servers.map(closeServer)).then(() => undefined), drainUntil);
    for (const hook of this.#hooks) await step(hook.name, hook.fn, drainUntil);
    if (failed.length === 0) logger.info('drained; flushing telemetry');
    for (const f of this.plan.flush) await step(f.name, f.fn, deadline);
    return { clean: failed.length === 0, failed };
  }

  /**
   * SIGTERM/SIGINT → run() then process.exit (0 if clean, else 1). A listener for these signals
   * disables Node's default exit, so we must exit ourselves. A second signal exits at once.
   */
  installSignalHandlers(): void {
    if (this.#signalsInstalled) return;
    this.#signalsInstalled = true;
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.started) {
        this.plan.logger.warn({ signal }, 'second signal during shutdown: exiting now');
        process.exit(1);
      }
      void this.run(signal).then((result) => process.exit(result.clean ? 0 : 1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
