import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { silentLogger, type CacheLogger } from './logger.js';

export interface InvalidationHandler {
  /** Drop these keys from the in-process cache. */
  onKeys(keys: string[]): void;
  /** Messages may have been lost (subscriber reconnected): drop everything. */
  onReset(): void;
}

interface Message {
  origin: string;
  cache: string;
  keys: string[];
}

export interface InvalidationBusOptions {
  /** Used to publish. */
  redis: Redis;
  /** Pub/sub channel shared by every instance of the service. */
  channel: string;
  logger?: CacheLogger;
}

/**
 * Broadcasts L1 invalidations to every instance over Redis pub/sub. Pub/sub is fire-and-forget, so
 * a subscriber that was disconnected may have missed messages: on every reconnect each cache is told
 * to reset its L1 (the short L1 TTL bounds staleness if even that fails).
 */
export class InvalidationBus {
  readonly instanceId = randomUUID();
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, InvalidationHandler>();
  private readonly logger: CacheLogger;
  private readyOnce = false;
  private closed = false;

  constructor(private readonly opts: InvalidationBusOptions) {
    this.logger = opts.logger ?? silentLogger;
    // a connection in subscriber mode cannot run other commands, so it gets its own
    // named, so on-call can spot it in CLIENT LIST (and tests can kill it)
    this.subscriber = opts.redis.duplicate({ lazyConnect: true, connectionName: `cache-invalidation-${this.instanceId}` });
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel === opts.channel) this.dispatch(raw);
    });
    this.subscriber.on('ready', () => {
      if (this.readyOnce) {
        this.logger.warn({ channel: opts.channel }, 'cache invalidation subscriber reconnected; resetting L1 caches');
        for (const h of this.handlers.values()) h.onReset();
      }
      this.readyOnce = true;
    });
    this.subscriber.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'cache invalidation subscriber error'));
  }

  /** Connects and subscribes; resolves once messages will be received. */
  async start(): Promise<void> {
    await this.subscriber.connect();
    await this.subscriber.subscribe(this.opts.channel);
  }

  register(cache: string, handler: InvalidationHandler): void {
    this.handlers.set(cache, handler);
  }

  /** Tells every other instance to drop `keys` from its L1. The caller has already dropped its own. */
  async publish(cache: string, keys: string[]): Promise<void> {
    const msg: Message = { origin: this.instanceId, cache, keys };
    await this.opts.redis.publish(this.opts.channel, JSON.stringify(msg));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscriber.disconnect();
  }

  private dispatch(raw: string): void {
    let msg: Message;
    try {
      msg = JSON.parse(raw) as Message;
    } catch {
      this.logger.warn({ channel: this.opts.channel }, 'ignoring malformed cache invalidation message');
      return;
    }
    if (msg.origin === this.instanceId || !Array.isArray(msg.keys)) return;
    this.handlers.get(msg.cache)?.onKeys(msg.keys.filter((k) => typeof k === 'string'));
  }
}
