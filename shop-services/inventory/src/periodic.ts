import type { Logger } from '@lantern/shop-common';

export interface PeriodicJob {
  start(): void;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `fn` every `intervalMs`, never two at once (the next run is scheduled after the previous one
 * ended), logging failures instead of crashing: the sweeper and the reconciler retry next time.
 */
export function periodic(name: string, intervalMs: number, fn: () => Promise<unknown>, logger: Logger): PeriodicJob {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  const tick = () => {
    running = (async () => {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err: (err as Error).message, job: name }, `${name} failed; retrying at the next interval`);
      }
    })().finally(() => {
      running = undefined;
      if (!stopped) schedule();
    });
  };
  const schedule = () => {
    timer = setTimeout(tick, intervalMs);
    timer.unref();
  };
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
