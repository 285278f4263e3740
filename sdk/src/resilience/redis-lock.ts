import type { Redis } from 'ioredis';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { abortSignal, parseOptions, positiveInt, toolName } from './config.js';
import { LockLostError, LockNotAcquiredError } from './errors.js';
import { LOCK_ACQUIRE_LUA, LOCK_RELEASE_LUA, LOCK_RENEW_LUA, defineScript } from './redis-scripts.js';
import { describeError, metrics, spanEvent } from './telemetry.js';

export interface RedisLockOptions {
  /** Metric label; a code-defined constant like "nightly-export". Default "default". */
  name?: string;
  /** How long a lock lives unless renewed: bounds how long a crashed holder blocks others. */
  ttlMs: number;
  /** Prefix of every Redis key. Default "lantern:lock:". */
  keyPrefix?: string;
}

export interface AcquireOptions {
  /** Keep trying for this long before giving up (null / LockNotAcquiredError). Default 0: one try. */
  waitMs?: number;
  /** Pause between tries, jittered ±50% so contenders don't retry in lockstep. Default 50 ms. */
  retryDelayMs?: number;
  /** Renew every ttl/3 until release; if the lock is lost, `handle.signal` aborts. Default false. */
  autoRenew?: boolean;
  /** Stop waiting when aborted (acquire rejects with the signal's reason). */
  signal?: AbortSignal;
}

export interface LockHandle {
  readonly resource: string;
  /** Random owner token: only this holder can renew or release. */
  readonly token: string;
  /**
   * Strictly increasing per resource across all holders (Redis INCR at acquisition). Pass it to
   * the storage you protect and have it reject writes carrying a lower token than it has seen:
   * that stops a holder that paused past its TTL from overwriting its successor.
   */
  readonly fencingToken: number;
  /** Aborted when the lock is released, or found lost by auto-renewal. Pass it to the guarded work. */
  readonly signal: AbortSignal;
  /** Extends the TTL if we still own the lock (compare-and-pexpire). False if it was lost. */
  renew(ttlMs?: number): Promise<boolean>;
  /** Deletes the lock if we still own it (compare-and-delete). False if it had expired or was taken. */
  release(): Promise<boolean>;
}

const optionsSchema = z.object({
  name: toolName.default('default'),
  ttlMs: positiveInt.min(10),
  keyPrefix: z.string().default('lantern:lock:'),
});

const acquireSchema = z.object({
  waitMs: z.number().int().min(0).default(0),
  retryDelayMs: positiveInt.default(50),
  autoRenew: z.boolean().default(false),
  signal: abortSignal.optional(),
});

const scriptId = (lua: string): string => createHash('sha1').update(lua).digest('hex').slice(0, 12);
const ACQUIRE = `lanternLockAcquire_${scriptId(LOCK_ACQUIRE_LUA)}`;
const RELEASE = `lanternLockRelease_${scriptId(LOCK_RELEASE_LUA)}`;
const RENEW = `lanternLockRenew_${scriptId(LOCK_RENEW_LUA)}`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * A single-Redis mutual-exclusion lock with owner tokens, fencing tokens and optional
 * auto-renewal. Safety rests on the TTL: a holder that stalls longer than ttlMs loses the lock
 * without knowing, which is what fencing tokens are for. Not Redlock: one Redis (or a primary
 * with replicas, where a failover can lose a just-taken lock).
 *
 * Metrics: resilience_lock_acquisitions_total{name,outcome=acquired|timeout|error},
 * resilience_lock_hold_seconds{name}, resilience_lock_renew_failures_total{name,reason=lost|error}.
 */
export class RedisLock {
  readonly name: string;
  readonly ttlMs: number;
  private readonly keyPrefix: string;
  private readonly scripts: { acquire: Script; release: Script; renew: Script };

  constructor(redis: Redis, options: RedisLockOptions) {
    const opts = parseOptions(optionsSchema, options, 'RedisLock');
    this.name = opts.name;
    this.ttlMs = opts.ttlMs;
    this.keyPrefix = opts.keyPrefix;
    this.scripts = {
      acquire: defineScript(redis, ACQUIRE, LOCK_ACQUIRE_LUA, 2),
      release: defineScript(redis, RELEASE, LOCK_RELEASE_LUA, 1),
      renew: defineScript(redis, RENEW, LOCK_RENEW_LUA, 1),
    };
  }

  /** Keys share a {hash tag} so both land in one Redis Cluster slot. */
  private keys(resource: string): { lock: string; fence: string } {
    return { lock: `${this.keyPrefix}{${resource}}`, fence: `${this.keyPrefix}{${resource}}:fence` };
  }

  /** Tries to take the lock, retrying until `waitMs` has passed. Null if it stayed taken. */
  async acquire(resource: string, options: AcquireOptions = {}): Promise<LockHandle | null> {
    const opts = parseOptions(acquireSchema, options, 'RedisLock.acquire');
    const keys = this.keys(resource);
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + opts.waitMs;
    const acquisitions = metrics.lockAcquisitions();
    for (;;) {
      opts.signal?.throwIfAborted();
      let fencingToken: number;
      try {
        fencingToken = Number(await this.scripts.acquire(keys.lock, keys.fence, token, this.ttlMs));
      } catch (err) {
        acquisitions.inc({ name: this.name, outcome: 'error' });
        spanEvent('resilience.lock.error', { 'resilience.name': this.name, 'lock.error': describeError(err) });
        throw err;
      }
      if (fencingToken > 0) {
        acquisitions.inc({ name: this.name, outcome: 'acquired' });
        spanEvent('resilience.lock.acquired', { 'resilience.name': this.name, 'lock.fencing_token': fencingToken });
        return new Handle(this.ops, resource, keys.lock, token, fencingToken, opts.autoRenew);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        acquisitions.inc({ name: this.name, outcome: 'timeout' });
        spanEvent('resilience.lock.timeout', { 'resilience.name': this.name, 'lock.wait_ms': opts.waitMs });
        return null;
      }
      const jittered = opts.retryDelayMs * (0.5 + Math.random());
      const signal = opts.signal;
      await sleep(Math.min(remaining, jittered), undefined, signal ? { signal } : {}).catch(() => {
        throw signal?.reason;
      });
    }
  }

  /**
   * Runs `fn` holding the lock, releasing it afterwards (also when fn throws). Throws
   * {@link LockNotAcquiredError} if the lock could not be taken within `waitMs`.
   */
  async withLock<T>(resource: string, fn: (lock: LockHandle) => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    const handle = await this.acquire(resource, options);
    if (!handle) throw new LockNotAcquiredError(this.name, resource, options.waitMs ?? 0);
    try {
      return await fn(handle);
    } finally {
      // A failed release (Redis down) must not mask fn's outcome; the TTL frees the lock.
      await handle.release().catch(() => false);
    }
  }

  private get ops(): LockOps {
    return { name: this.name, ttlMs: this.ttlMs, release: this.scripts.release, renew: this.scripts.renew };
  }
}

interface LockOps {
  name: string;
  ttlMs: number;
  release: Script;
  renew: Script;
}

class Handle implements LockHandle {
  private readonly controller = new AbortController();
  private readonly acquiredAt = performance.now();
  private lastRenewedAt = this.acquiredAt;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly lock: LockOps,
    readonly resource: string,
    private readonly key: string,
    readonly token: string,
    readonly fencingToken: number,
    autoRenew: boolean,
  ) {
    if (autoRenew) {
      this.timer = setInterval(() => void this.autoRenew(), Math.max(1, Math.floor(lock.ttlMs / 3)));
      // Don't keep a process alive just to renew a lock nobody is using.
      this.timer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async renew(ttlMs: number = this.lock.ttlMs): Promise<boolean> {
    if (this.done) return false;
    const ok = Number(await this.lock.renew(this.key, this.token, ttlMs)) === 1;
    if (ok) this.lastRenewedAt = performance.now();
    else if (!this.done) {
      // Not released by us meanwhile: the lock expired or someone else holds it now.
      metrics.lockRenewFailures().inc({ name: this.lock.name, reason: 'lost' });
      this.finish('lost');
    }
    return ok;
  }

  async release(): Promise<boolean> {
    if (this.done) return false;
    this.stopTimer();
    const ok = Number(await this.lock.release(this.key, this.token)) === 1;
    this.finish(ok ? 'released' : 'lost');
    return ok;
  }

  private async autoRenew(): Promise<void> {
    try {
      await this.renew();
    } catch (err) {
      // Redis unreachable: keep trying until the TTL since the last success has surely passed.
      metrics.lockRenewFailures().inc({ name: this.lock.name, reason: 'error' });
      spanEvent('resilience.lock.renew_error', { 'resilience.name': this.lock.name, 'lock.error': describeError(err) });
      if (performance.now() - this.lastRenewedAt >= this.lock.ttlMs) this.finish('lost');
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private finish(how: 'released' | 'lost'): void {
    if (this.done) return;
    this.done = true;
    this.stopTimer();
    metrics.lockHold().observe({ name: this.lock.name }, (performance.now() - this.acquiredAt) / 1000);
    spanEvent(how === 'lost' ? 'resilience.lock.lost' : 'resilience.lock.released', {
      'resilience.name': this.lock.name,
      'lock.fencing_token': this.fencingToken,
    });
    if (how === 'lost') this.controller.abort(new LockLostError(this.lock.name, this.resource, this.fencingToken));
    else this.controller.abort();
  }
}
