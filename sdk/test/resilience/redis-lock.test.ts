import test from 'ava';
import { Redis } from 'ioredis';
import { infra, uniqueName, waitFor } from '@lantern/testkit';
import { LockLostError, LockNotAcquiredError, RedisLock } from '../../src/index.js';
import { metricValue } from './helpers.js';

function connect(t: { teardown(fn: () => Promise<unknown> | void): void }): Redis {
  const redis = new Redis(infra.redisUrl, { maxRetriesPerRequest: 1 });
  t.teardown(() => redis.quit().catch(() => redis.disconnect()));
  return redis;
}

test('lock: N contenders on separate connections, one holder at a time, fencing tokens strictly increase', async (t) => {
  const name = uniqueName('lock_race');
  const keyPrefix = `${name}:`;
  const contenders = 50;
  const clients = Array.from({ length: contenders }, () => connect(t));
  await Promise.all(clients.map((c) => c.ping()));
  const locks = clients.map((c) => new RedisLock(c, { name, ttlMs: 30_000, keyPrefix }));

  let holders = 0;
  let maxHolders = 0;
  const tokensInHoldOrder: number[] = [];
  await Promise.all(
    locks.map((lock) =>
      lock.withLock(
        'order-42',
        async (handle) => {
          holders++;
          maxHolders = Math.max(maxHolders, holders);
          tokensInHoldOrder.push(handle.fencingToken);
          // Yield to the event loop (and Redis) so overlapping holders would show.
          await new Promise((r) => setImmediate(r));
          await clients[0]!.ping();
          holders--;
        },
        { waitMs: 60_000, retryDelayMs: 5 },
      ),
    ),
  );
  t.is(tokensInHoldOrder.length, contenders);
  t.is(maxHolders, 1);
  for (let i = 1; i < tokensInHoldOrder.length; i++) {
    t.true(tokensInHoldOrder[i]! > tokensInHoldOrder[i - 1]!, `token ${tokensInHoldOrder[i]} after ${tokensInHoldOrder[i - 1]}`);
  }
  t.is(await metricValue('resilience_lock_acquisitions_total', { name, outcome: 'acquired' }), contenders);
  const hold = await metricValue('resilience_lock_hold_seconds', { name });
  t.true(hold > 0); // sum of observed hold durations
  t.is(await clients[0]!.exists(`${keyPrefix}{order-42}`), 0); // released at the end
});

test('lock: release with a non-owner token does nothing', async (t) => {
  const name = uniqueName('lock_owner');
  const redis = connect(t);
  const lock = new RedisLock(redis, { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  const handle = await lock.acquire('r');
  t.truthy(handle);
  t.is(handle!.token.length, 32);
  // Another client running the same compare-and-delete with a wrong token.
  const other = connect(t);
  const forged = new RedisLock(other, { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  t.is(await forged.acquire('r'), null);
  const raw = other as unknown as Record<string, (...a: string[]) => Promise<unknown>>;
  const releaseCommand = Object.keys(other).find((k) => k.startsWith('lanternLockRelease_') && !k.endsWith('Buffer'));
  t.truthy(releaseCommand);
  t.is(Number(await raw[releaseCommand!]!(`${name}:{r}`, 'not-the-owner')), 0);
  t.is(await redis.get(`${name}:{r}`), handle!.token); // still held by the owner
  t.is(await forged.acquire('r'), null);
  t.true(await handle!.release());
  t.false(await handle!.release()); // second release is a no-op
  t.truthy(await forged.acquire('r'));
});

test('lock: an expired lock can be taken by another; the old holder can neither release nor renew it', async (t) => {
  const name = uniqueName('lock_expire');
  const a = new RedisLock(connect(t), { name, ttlMs: 100, keyPrefix: `${name}:` });
  const b = new RedisLock(connect(t), { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  const first = await a.acquire('job');
  t.truthy(first);
  const second = await waitFor(() => b.acquire('job').then((h) => h ?? false), { what: 'lock to expire and be taken' });
  t.true(second.fencingToken > first!.fencingToken);
  t.false(await first!.renew());
  t.false(await first!.release());
  t.true(first!.signal.aborted);
  t.true(first!.signal.reason instanceof LockLostError);
  t.false(second.signal.aborted);
  t.true(await second.renew());
  t.true(await second.release());
  t.true(second.signal.aborted);
  t.is(await metricValue('resilience_lock_renew_failures_total', { name, reason: 'lost' }), 1);
});

test('lock: acquire gives up after waitMs; withLock throws LockNotAcquiredError', async (t) => {
  const name = uniqueName('lock_wait');
  const lock = new RedisLock(connect(t), { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  const held = await lock.acquire('busy');
  t.teardown(() => held?.release());
  t.is(await lock.acquire('busy', { waitMs: 30, retryDelayMs: 5 }), null);
  let ran = false;
  const err = await t.throwsAsync(
    lock.withLock('busy', async () => {
      ran = true;
    }),
    { instanceOf: LockNotAcquiredError },
  );
  t.false(ran);
  t.is(err?.code, 'ELOCKNOTACQUIRED');
  t.is(err?.resource, 'busy');
  t.is(await metricValue('resilience_lock_acquisitions_total', { name, outcome: 'timeout' }), 2);
});

test('lock: withLock releases when fn throws', async (t) => {
  const name = uniqueName('lock_throw');
  const redis = connect(t);
  const lock = new RedisLock(redis, { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  const boom = new Error('boom');
  t.is(await t.throwsAsync(lock.withLock('r', async () => Promise.reject(boom))), boom);
  t.is(await redis.exists(`${name}:{r}`), 0);
});

test('lock: autoRenew keeps the lock past its TTL until release, then stops', async (t) => {
  const name = uniqueName('lock_renew');
  const redis = connect(t);
  const ttlMs = 600;
  const lock = new RedisLock(redis, { name, ttlMs, keyPrefix: `${name}:` });
  const other = new RedisLock(connect(t), { name, ttlMs, keyPrefix: `${name}:` });
  const handle = await lock.acquire('long-job', { autoRenew: true });
  t.truthy(handle);
  // Without renewal the key would vanish after 600 ms; another contender keeps trying for 3 TTLs.
  t.is(await other.acquire('long-job', { waitMs: 3 * ttlMs, retryDelayMs: 50 }), null);
  t.false(handle!.signal.aborted);
  t.true(await handle!.release());
  t.truthy(await other.acquire('long-job')); // released, and renewal no longer resurrects it
  t.is(await metricValue('resilience_lock_renew_failures_total', { name, reason: 'lost' }), 0);
});

test('lock: autoRenew aborts the handle signal when the lock is lost', async (t) => {
  const name = uniqueName('lock_lost');
  const redis = connect(t);
  const lock = new RedisLock(redis, { name, ttlMs: 300, keyPrefix: `${name}:` });
  const handle = await lock.acquire('r', { autoRenew: true });
  t.truthy(handle);
  await redis.del(`${name}:{r}`); // e.g. an operator, or a failover that lost the key
  await waitFor(() => handle!.signal.aborted, { what: 'loss to be noticed' });
  t.true(handle!.signal.reason instanceof LockLostError);
  t.false(await handle!.release());
  t.is(await metricValue('resilience_lock_renew_failures_total', { name, reason: 'lost' }), 1);
});

test('lock: aborting the signal stops waiting with the signal reason', async (t) => {
  const name = uniqueName('lock_abort');
  const lock = new RedisLock(connect(t), { name, ttlMs: 30_000, keyPrefix: `${name}:` });
  const held = await lock.acquire('busy');
  t.teardown(() => held?.release());
  const ac = new AbortController();
  const reason = new Error('shutting down');
  const waiting = lock.acquire('busy', { waitMs: 60_000, retryDelayMs: 20, signal: ac.signal });
  ac.abort(reason);
  t.is(await t.throwsAsync(waiting), reason);
});
