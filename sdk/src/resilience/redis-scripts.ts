import type { Redis } from 'ioredis';

/**
 * Lua scripts run atomically on the Redis server. Registered with ioredis' defineCommand, which
 * sends EVAL once per connection and EVALSHA after that (re-sending on NOSCRIPT, e.g. after a
 * SCRIPT FLUSH or failover).
 */

/** Refills the bucket in KEYS[1] up to now (server time); needs `capacity` and `rate` in scope. */
const REFILL_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
end
`;

/** Saves the bucket, expiring it once it would be full again; needs `tokens`, `now`, `ts`, `ttl`. */
const STORE_LUA = `redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], ttl)
`;

/**
 * Token bucket. KEYS[1] = bucket hash {tokens, ts(µs)}; ARGV = capacity, refill/s, cost, ttl ms.
 * Time comes from the server (TIME), so app instances with skewed clocks agree. Returns
 * {allowed 0|1, whole tokens remaining, retry-after ms}. The TTL is the time to refill completely,
 * after which a missing bucket (= full) is exactly right, so idle keys vanish without changing
 * any decision.
 */
export const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
${REFILL_LUA}local allowed = 0
local retry_after = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_after = math.ceil((cost - tokens) * 1000 / rate)
end
${STORE_LUA}return {allowed, math.floor(tokens), retry_after}
`;

/**
 * Token bucket lease: as TOKEN_BUCKET_LUA, but takes up to ARGV[5] tokens at once (at least ARGV[3],
 * the cost, or none), so an instance can hand them out locally. Returns {granted tokens, whole
 * tokens left, retry-after ms (when nothing was granted)}.
 */
export const TOKEN_BUCKET_LEASE_LUA = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[5])
local ttl = tonumber(ARGV[4])
${REFILL_LUA}local granted = 0
local retry_after = 0
if tokens >= cost then
  granted = math.max(cost, math.min(want, math.floor(tokens)))
  tokens = tokens - granted
else
  retry_after = math.ceil((cost - tokens) * 1000 / rate)
end
${STORE_LUA}return {granted, math.floor(tokens), retry_after}
`;

/**
 * Lock acquire. KEYS[1] = lock, KEYS[2] = fencing counter; ARGV = owner token, ttl ms.
 * SET NX and INCR in one script, so fencing tokens are issued in exactly the order holders
 * hold the lock. The counter never expires: it must only ever grow.
 */
export const LOCK_ACQUIRE_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
`;

/** Compare-and-delete: only the owner's token releases. */
export const LOCK_RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/** Compare-and-pexpire: only the owner's token extends. */
export const LOCK_RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Defines (once per client) and returns a caller for a script. The command name embeds the
 * script's identity so two SDK versions in one process cannot clobber each other's definition.
 */
export function defineScript(redis: Redis, command: string, lua: string, numberOfKeys: number): ScriptFn {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  if (typeof client[command] !== 'function') redis.defineCommand(command, { lua, numberOfKeys });
  const fn = client[command];
  if (typeof fn !== 'function') throw new Error(`ioredis did not define command ${command}`);
  return fn.bind(redis);
}
