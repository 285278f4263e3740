// One input, many consumers: a receiver feeding several pipelines, a pipeline feeding several exporters.
import type { Consumer, Signal, SignalData } from './types.js';

/**
 * Hands the same data to every consumer. Resolves when all accepted it; rejects (RefusedError
 * included) if any did not, so the sender retries: delivery is at least once, never at most once.
 */
export function fanOut<S extends Signal>(consumers: Consumer<S>[]): Consumer<S> {
  if (consumers.length === 1) return consumers[0]!;
  return {
    async consume(data: SignalData[S]) {
      const results = await Promise.allSettled(consumers.map((c) => c.consume(data)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/**
 * A consumer whose target can be swapped while data flows (config reload), and held: while held,
 * consume() waits for release() instead of reaching a pipeline that is being torn down.
 */
export class SwitchableConsumer<S extends Signal> implements Consumer<S> {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  constructor(private target: Consumer<S>) {}

  async consume(data: SignalData[S]): Promise<void> {
    while (this.gate) await this.gate;
    return this.target.consume(data);
  }

  hold(): void {
    if (!this.gate) this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(target?: Consumer<S>): void {
    if (target) this.target = target;
    const open = this.open;
    this.gate = undefined;
    this.open = undefined;
    open?.();
  }
}
