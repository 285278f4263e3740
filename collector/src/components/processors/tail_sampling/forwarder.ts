// Sends sampled spans to the next stage. A refusal (RefusedError) keeps them for the next attempt, in order; any
// other error means they can never be accepted, so they are counted as lost and logged instead of retried forever.
import { RefusedError } from '../../../pipeline/errors.js';
import type { Consumer } from '../../../pipeline/types.js';
import type { DecodedSpan } from '../../../otlp/types.js';
import { Fifo } from './fifo.js';

/** Sampled traces are sent together, up to about this many spans per call. */
const CHUNK_SPANS = 8192;

export class Forwarder {
  private readonly queue = new Fifo<DecodedSpan[]>();
  /** Spans waiting to be sent (decided sampled, or refused by the next stage). */
  spans = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly next: Consumer<'traces'>,
    private readonly onLost: (spans: number, err: unknown) => void,
  ) {}

  push(spans: DecodedSpan[]): void {
    if (spans.length === 0) return;
    this.queue.push(spans);
    this.spans += spans.length;
  }

  /** Sends what is queued; resolves when the queue is empty or the next stage refused (the rest is kept). */
  flush(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const chunk = this.take();
      try {
        await this.next.consume(chunk);
        this.spans -= chunk.length;
      } catch (err) {
        if (err instanceof RefusedError) {
          this.queue.unshift(chunk);
          return;
        }
        this.spans -= chunk.length;
        this.onLost(chunk.length, err);
      }
    }
  }

  /** Whole queued batches up to CHUNK_SPANS (at least one); a single batch is sent as is, without copying. */
  private take(): DecodedSpan[] {
    const first = this.queue.shift()!;
    if (first.length >= CHUNK_SPANS || this.queue.size === 0) return first;
    const out = first.slice();
    for (let b = this.queue.peek(); b && out.length + b.length <= CHUNK_SPANS; b = this.queue.peek()) {
      this.queue.shift();
      for (const s of b) out.push(s);
    }
    return out;
  }
}
