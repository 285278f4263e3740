import type { Logger } from '@lantern/shop-common';

/**
 * Runs `task` every `intervalMs` in the background, never two at once in this process (a run still
 * going when the next is due makes that one skip). Errors are logged, not thrown. The timer does not
 * keep the process alive.
 */
export function schedulePeriodic(name: string, intervalMs: number, task: () => Promise<unknown>, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((err: unknown) => logger.warn({ job: name, err: (err as Error).message }, 'periodic job failed'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
