// One send queue per Slack destination (webhook URL, or bot token + channel): messages leave in order at
// about one per second with a small burst (Slack's posting limit), and a 429 pauses the whole queue for
// exactly its Retry-After before the same message is sent again — so it is delivered once, late, instead
// of being dropped or duplicated. Every receiver sharing a URL shares its queue.
import { createHash } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Clock, systemClock } from '../../model/clock.js';
import { RetryableNotifyError } from '../../model/notification.js';

export interface SlackQueueOptions {
  /** Messages per second, sustained. */
  ratePerSecond: number;
  /** Messages that may leave back to back after a quiet period. */
  burst: number;
  /** A Retry-After longer than this is not waited out inside the queue: the retry stage gets it instead. */
  maxRetryAfterMs: number;
  /** 429s honoured for one message before it is handed back to the retry stage. */
  maxRateLimitedAttempts: number;
}

export const DEFAULT_SLACK_QUEUE: SlackQueueOptions = { ratePerSecond: 1, burst: 2, maxRetryAfterMs: 60_000, maxRateLimitedAttempts: 5 };

/** What one attempt at sending produced: done, or rate limited with the time to wait. */
export type Attempt = { kind: 'sent' } | { kind: 'rate_limited'; retryAfterMs: number };

interface Item {
  attempt: () => Promise<Attempt>;
  signal: AbortSignal;
  resolve: () => void;
  reject: (err: unknown) => void;
  rateLimited: number;
}

export interface QueueMetrics {
  depth: Gauge;
  rateLimited: Counter;
}

const metricsByRegistry = new WeakMap<Registry, QueueMetrics>();

/** The queue's metrics in `registry`, created once per registry. */
export function queueMetrics(registry: Registry): QueueMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      depth: new Gauge({ name: 'alerting_slack_queue_depth', help: 'Slack messages waiting in a destination queue.', labelNames: ['queue'], registers: [registry] }),
      rateLimited: new Counter({ name: 'alerting_slack_rate_limited_total', help: 'Slack answers 429 (Retry-After honoured).', labelNames: ['queue'], registers: [registry] }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

export class SlackQueue {
  private items: Item[] = [];
  private tokens: number;
  private lastRefill: number;
  /** Nothing leaves before this (ms epoch): set by a 429. */
  private pausedUntil = 0;
  private running = false;
  /** Delivered messages, for tests and debugging. */
  sent = 0;

  constructor(
    /** A hash of the destination: never the URL itself, which is a secret. */
    readonly id: string,
    private readonly opts: SlackQueueOptions = DEFAULT_SLACK_QUEUE,
    private readonly clock: Clock = systemClock,
    private readonly metrics?: QueueMetrics,
  ) {
    this.tokens = opts.burst;
    this.lastRefill = clock.now().getTime();
  }

  get depth(): number {
    return this.items.length;
  }

  /** Resolves once `attempt` reported `sent`; rejects with its error, or RetryableNotifyError when aborted or rate limited too long. */
  send(attempt: () => Promise<Attempt>, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new RetryableNotifyError('slack: aborted before sending'));
    return new Promise<void>((resolve, reject) => {
      this.items.push({ attempt, signal, resolve, reject, rateLimited: 0 });
      this.metrics?.depth.set({ queue: this.id }, this.items.length);
      void this.run();
    });
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.lastRefill);
    this.tokens = Math.min(this.opts.burst, this.tokens + (elapsed / 1000) * this.opts.ratePerSecond);
    this.lastRefill = now;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimeout(r, ms));
  }

  /** Drops waiting items whose caller gave up. */
  private dropAborted(): void {
    this.items = this.items.filter((it) => {
      if (!it.signal.aborted) return true;
      it.reject(new RetryableNotifyError('slack: gave up waiting in the send queue (rate limited)', Math.max(0, this.pausedUntil - this.clock.now().getTime()) || undefined));
      return false;
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        this.dropAborted();
        const item = this.items[0];
        if (!item) return;
        const now = this.clock.now().getTime();
        if (now < this.pausedUntil) {
          await this.sleep(this.pausedUntil - now);
          continue;
        }
        this.refill(now);
        if (this.tokens < 1) {
          await this.sleep(Math.ceil(((1 - this.tokens) / this.opts.ratePerSecond) * 1000));
          continue;
        }
        this.tokens -= 1;
        await this.attempt(item);
      }
    } finally {
      this.running = false;
      this.metrics?.depth.set({ queue: this.id }, this.items.length);
    }
  }

  private async attempt(item: Item): Promise<void> {
    const done = () => {
      this.items.shift();
      this.metrics?.depth.set({ queue: this.id }, this.items.length);
    };
    let r: Attempt;
    try {
      r = await item.attempt();
    } catch (err) {
      done();
      item.reject(err);
      return;
    }
    if (r.kind === 'sent') {
      done();
      this.sent++;
      item.resolve();
      return;
    }
    // 429: Slack did not post it. Pause everyone behind it too (the limit is per destination).
    this.metrics?.rateLimited.inc({ queue: this.id });
    item.rateLimited++;
    this.pausedUntil = this.clock.now().getTime() + r.retryAfterMs;
    this.tokens = 0;
    if (r.retryAfterMs > this.opts.maxRetryAfterMs || item.rateLimited >= this.opts.maxRateLimitedAttempts) {
      done();
      item.reject(new RetryableNotifyError(`slack: rate limited (429), retry after ${Math.ceil(r.retryAfterMs / 1000)} s`, r.retryAfterMs));
    }
  }
}

/** The queues of one process, keyed by a hash of the destination. */
export class SlackQueues {
  private readonly queues = new Map<string, SlackQueue>();
  constructor(
    private readonly opts: SlackQueueOptions = DEFAULT_SLACK_QUEUE,
    private readonly clock: Clock = systemClock,
    private readonly metrics?: QueueMetrics,
  ) {}

  for(destination: string): SlackQueue {
    const id = createHash('sha256').update(destination).digest('hex').slice(0, 12);
    let q = this.queues.get(id);
    if (!q) {
      q = new SlackQueue(id, this.opts, this.clock, this.metrics);
      this.queues.set(id, q);
    }
    return q;
  }
}

/** Shared by every Slack integration that is not handed its own queues. */
export const defaultSlackQueues = new SlackQueues();
