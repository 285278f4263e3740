// Collects what consume() hands over into batches and sends each batch on when it is big enough or
// old enough. Back-pressure survives the batching: each consume() settles only when every chunk that
// carried its items has been accepted downstream, and rejects with that chunk's error (RefusedError
// included) otherwise, so the sender retries and nothing accepted is silently lost.
import type { Logger } from 'pino';
import { RefusedError } from '../../../pipeline/errors.js';
import { itemCount, type Consumer, type Signal, type SignalData } from '../../../pipeline/types.js';
import type { BatchConfig } from './config.js';
import { split, type Chunk } from './split.js';

export type Trigger = 'size' | 'timeout' | 'shutdown';

/** One consume() waiting for its items [start, end) of a batch to be accepted. */
interface Waiter {
  start: number;
  end: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Pending<S extends Signal> {
  data: SignalData[S];
  items: number;
  waiters: Waiter[];
}

export interface BatcherOptions<S extends Signal> {
  signal: S;
  config: BatchConfig;
  next: Consumer<S>;
  logger: Logger;
  /** Told of every batch sent: why, and how many items. */
  onSend?: (trigger: Trigger, items: number) => void;
}

export class Batcher<S extends Signal> {
  private pending: Pending<S> = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly opts: BatcherOptions<S>) {}

  consume(data: SignalData[S]): Promise<void> {
    if (this.closed) return Promise.reject(new RefusedError('the batch processor is shutting down'));
    if (data.length === 0) return Promise.resolve();
    const { config, signal } = this.opts;
    const p = this.pending;
    const n = itemCount(signal, data);
    const accepted = new Promise<void>((resolve, reject) => p.waiters.push({ start: p.items, end: p.items + n, resolve, reject }));
    // a loop, not push(...data): spreading a very large array overflows the call stack
    for (const item of data) (p.data as unknown[]).push(item);
    p.items += n;
    if (p.items >= config.send_batch_size || config.timeout === 0) this.flush('size');
    else this.timer ??= setTimeout(() => this.flush('timeout'), config.timeout);
    return accepted;
  }

  /** Stops taking data, sends what is buffered and waits until every send has settled. */
  async shutdown(): Promise<void> {
    this.closed = true;
    this.flush('shutdown');
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(trigger: Trigger): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = emptyBatch();
    if (batch.data.length === 0) return;
    this.opts.onSend?.(trigger, batch.items);
    const sending = this.send(batch).finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  /** Sends the chunks in order; every chunk is tried, so a refusal fails only the consumes whose items it carried. */
  private async send(batch: Pending<S>): Promise<void> {
    const failures: { chunk: Chunk<S>; err: unknown }[] = [];
    for (const chunk of split(this.opts.signal, batch.data, this.opts.config.send_batch_max_size)) {
      try {
        await this.opts.next.consume(chunk.data);
      } catch (err) {
        failures.push({ chunk, err });
      }
    }
    if (failures.length > 0) this.opts.logger.debug({ failed: failures.length, items: batch.items, err: failures[0]!.err }, 'batch not accepted downstream: its senders are told to retry');
    for (const w of batch.waiters) {
      const failed = failures.find((f) => overlaps(w, f.chunk));
      if (failed) w.reject(failed.err);
      else w.resolve();
    }
  }
}

function emptyBatch<S extends Signal>(): Pending<S> {
  return { data: [] as unknown as SignalData[S], items: 0, waiters: [] };
}

/** Whether a chunk carries any of a waiter's items (a consume of point-less metrics fails with any chunk: conservative). */
function overlaps(w: Waiter, c: { start: number; end: number }): boolean {
  return w.start === w.end || (w.start < c.end && c.start < w.end);
}
