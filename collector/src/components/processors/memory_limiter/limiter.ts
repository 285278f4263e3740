// Measures the process memory every check_interval and decides whether data must be refused.
import type { Logger } from 'pino';
import { MIB, type Limits } from './limits.js';

/**
 * V8 heap that is committed (so counted in RSS) but free. New data fills it before RSS grows, and V8
 * keeps it long after a burst: compared with plain RSS, a collector that went over its soft limit once
 * can stay "over" it, refusing everything, long after its data was released (seen in overload.test.ts:
 * RSS 179 MiB with 27 MiB of live heap in 79 MiB committed). Upstream compares Go's live heap for the
 * same reason. process.memoryUsage() costs ~30 µs: nothing once a second.
 */
export function freeHeapBytes(): number {
  const m = process.memoryUsage();
  return Math.max(0, m.heapTotal - m.heapUsed);
}

/** ok: below the soft limit; soft: refusing; hard: refusing and forcing GC. */
export type LimiterState = 'ok' | 'soft' | 'hard';

export interface LimiterOptions {
  limits: Limits;
  checkIntervalMs: number;
  minGcIntervalSoftMs: number;
  minGcIntervalHardMs: number;
  /** The process RSS in bytes; injectable so tests can drive the limiter over and under its limits. */
  readRss: () => number;
  /** Committed but free V8 heap in bytes (freeHeapBytes), subtracted from RSS for the soft limit. */
  readFreeHeap: () => number;
  /** A full, blocking GC (node --expose-gc); undefined when the runtime offers none. */
  gc: (() => void) | undefined;
  logger: Logger;
  /** Told after every check (the state gauge). */
  onCheck?: (state: LimiterState) => void;
  /** Told after every forced GC. */
  onGc?: () => void;
}

export class MemoryLimiter {
  private timer: NodeJS.Timeout | undefined;
  private state: LimiterState = 'ok';
  private lastGcAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: LimiterOptions) {}

  /** Measures once right away (so a process already over its limit refuses from the start), then on a timer. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
    // the limiter alone must not keep the process alive
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get mustRefuse(): boolean {
    return this.state !== 'ok';
  }

  get current(): LimiterState {
    return this.state;
  }

  /**
   * One measurement. The hard limit is compared with RSS, what the OOM killer sees: above it, a GC is
   * forced (V8 then also returns free pages). The soft limit is compared with RSS less V8's free heap,
   * so refusal ends once the data is released. Refusing above either; a later check ends it.
   */
  check(): void {
    const { limits, logger } = this.opts;
    let rss = this.opts.readRss();
    if (rss >= limits.hardBytes) {
      logger.warn({ rssMiB: toMiB(rss), hardLimitMiB: toMiB(limits.hardBytes) }, 'memory usage is above the hard limit: forcing a GC');
      if (this.maybeGc(this.opts.minGcIntervalHardMs)) rss = this.opts.readRss();
    }
    let used = rss - this.opts.readFreeHeap();
    if (rss < limits.hardBytes && used >= limits.softBytes) {
      // Upstream GCs (rate-limited) when crossing the soft limit; here also while refusing, at the same
      // rate limit, since RSS only falls after a major GC releases pages.
      if (this.maybeGc(this.opts.minGcIntervalSoftMs)) {
        rss = this.opts.readRss();
        used = rss - this.opts.readFreeHeap();
      }
    }
    const wasRefusing = this.mustRefuse;
    this.state = rss >= limits.hardBytes ? 'hard' : used >= limits.softBytes ? 'soft' : 'ok';
    if (!wasRefusing && this.mustRefuse) logger.warn({ rssMiB: toMiB(rss), usedMiB: toMiB(used), softLimitMiB: toMiB(limits.softBytes) }, 'memory usage is above the soft limit: refusing data');
    if (wasRefusing && !this.mustRefuse) logger.info({ rssMiB: toMiB(rss), usedMiB: toMiB(used) }, 'memory usage is back within limits: accepting data');
    this.opts.onCheck?.(this.state);
  }

  /** Runs a GC when available and not done within `minIntervalMs`; whether it ran. */
  private maybeGc(minIntervalMs: number): boolean {
    const gc = this.opts.gc;
    if (!gc || Date.now() - this.lastGcAt < minIntervalMs) return false;
    gc();
    this.lastGcAt = Date.now();
    this.opts.onGc?.();
    return true;
  }
}

const toMiB = (bytes: number) => Math.round(bytes / MIB);
