import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { TooManyRequestsError } from '@lantern/shop-common';

export interface LoginGuardOptions {
  prefix: string;
  /** Failures per email+IP before lockout. */
  maxFailures: number;
  /** Failures per email from any IP before lockout (slows distributed guessing). */
  maxFailuresPerEmail: number;
  /** Counting window and lockout length. */
  lockoutSeconds: number;
}

/** INCR and start the window on the first failure, atomically. */
const RECORD = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n`;

/**
 * Brute-force protection: failed logins are counted per email+IP and per email in Redis; at the
 * limit further attempts are refused with 429 and Retry-After until the window expires, without
 * checking the password (so a locked account cannot be probed). Emails are hashed in the keys.
 */
export function createLoginGuard(redis: Redis, opts: LoginGuardOptions) {
  const emailKey = (email: string) => `${opts.prefix}login-fail:${createHash('sha256').update(email).digest('hex').slice(0, 32)}`;
  const keys = (email: string, ip: string) => ({ pair: `${emailKey(email)}:${ip}`, email: emailKey(email) });

  return {
    /** Throws TooManyRequestsError while locked out. */
    async check(email: string, ip: string): Promise<void> {
      const k = keys(email, ip);
      const replies = (await redis.multi().get(k.pair).pttl(k.pair).get(k.email).pttl(k.email).exec()) ?? [];
      const [pairCount, pairTtl, emailCount, emailTtl] = replies.map(([err, value]) => {
        if (err) throw err;
        return value;
      });
      const locked = (count: unknown, max: number) => Number(count ?? 0) >= max;
      const retryMs = Math.max(locked(pairCount, opts.maxFailures) ? Number(pairTtl) : 0, locked(emailCount, opts.maxFailuresPerEmail) ? Number(emailTtl) : 0);
      if (retryMs > 0) throw new TooManyRequestsError('too many failed login attempts; try again later', retryMs, 'login_locked');
    },
    async recordFailure(email: string, ip: string): Promise<void> {
      const k = keys(email, ip);
      await Promise.all([redis.eval(RECORD, 1, k.pair, opts.lockoutSeconds), redis.eval(RECORD, 1, k.email, opts.lockoutSeconds)]);
    },
    /** A successful login clears this IP's counter (not the per-email one: an attacker's own success elsewhere must not reset it). */
    async recordSuccess(email: string, ip: string): Promise<void> {
      await redis.del(keys(email, ip).pair);
    },
  };
}
export type LoginGuard = ReturnType<typeof createLoginGuard>;
