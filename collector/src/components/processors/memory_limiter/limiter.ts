// Measures the process RSS every check_interval and decides whether data must be refused. RSS (not
// the V8 heap) because that is what the kernel's OOM killer and a container's limit count: buffers,
// sockets and native allocations included. process.memoryUsage.rss() is one syscall, cheap enough
// to call every second.
import type { Logger } from 'pino';
import { MIB, type Limits } from './limits.js';

/** ok: below the soft limit; soft: refusing; hard: refusing and forcing GC. */
export type LimiterState = 'ok' | 'soft' | 'hard';

export interface LimiterOptions {
  limits: Limits;
  checkIntervalMs: number;
  minGcIntervalSoftMs: number;
  minGcIntervalHardMs: number;
  /** Current RSS in bytes; injectable so tests can drive the limiter over and under its limits. */
  readRss: () => number;
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

  /** One measurement: above hard forces a GC first; above soft refuses until a later check is below it. */
  check(): void {
    const { limits, logger } = this.opts;
    let rss = this.opts.readRss();
    if (rss >= limits.hardBytes) {
      logger.warn({ rssMiB: toMiB(rss), hardLimitMiB: toMiB(limits.hardBytes) }, 'memory usage is above the hard limit: forcing a GC');
      rss = this.maybeGc(this.opts.minGcIntervalHardMs) ?? rss;
    }
    const wasRefusing = this.mustRefuse;
    if (!wasRefusing && rss >= limits.softBytes) {
      // as upstream: try a (rate-limited) GC before starting to refuse
      rss = this.maybeGc(this.opts.minGcIntervalSoftMs) ?? rss;
    }
    this.state = rss >= limits.hardBytes ? 'hard' : rss >= limits.softBytes ? 'soft' : 'ok';
    if (!wasRefusing && this.mustRefuse) logger.warn({ rssMiB: toMiB(rss), softLimitMiB: toMiB(limits.softBytes) }, 'memory usage is above the soft limit: refusing data');
    if (wasRefusing && !this.mustRefuse) logger.info({ rssMiB: toMiB(rss) }, 'memory usage is back within limits: accepting data');
    this.opts.onCheck?.(this.state);
  }

  /** Runs a GC when available and not done within `minIntervalMs`; returns the RSS after it. */
  private maybeGc(minIntervalMs: number): number | undefined {
    const gc = this.opts.gc;
    if (!gc || Date.now() - this.lastGcAt < minIntervalMs) return undefined;
    gc();
    this.lastGcAt = Date.now();
    this.opts.onGc?.();
    return this.opts.readRss();
  }
}

const toMiB = (bytes: number) => Math.round(bytes / MIB);
