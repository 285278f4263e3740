/**
 * The Lua scripts that keep a sale's live counters in Redis. Each runs atomically on the server, so a
 * purchase checks the window, the buyer set and the stock and takes a unit in one step: no two buyers
 * can see the same last unit. Keys of one sale share a hash tag (`{sale:<id>}`), so the scripts also
 * work on a Redis Cluster.
 *
 * KEYS of every script: [1] state hash {remaining, stock, startsAt, endsAt} (ms since epoch),
 * [2] buyers set (user ids), [3] holds sorted set (user id → when the unit was taken, ms).
 */

/** Reply codes of PURCHASE_LUA (first element). */
export const PURCHASE_CODES = {
  notLoaded: -1,
  soldOut: 0,
  accepted: 1,
  notStarted: 2,
  ended: 3,
  alreadyPurchased: 4,
} as const;

/**
 * ARGV[1] = user id. Returns {code, remaining}. "Not loaded" means the state hash is missing (never
 * loaded, expired, or Redis was flushed): the caller rebuilds it from Postgres and asks again. Time is
 * the Redis server's, so every instance of the service agrees on when the sale opens and closes.
 */
export const PURCHASE_LUA = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'startsAt', 'endsAt')
if not s[1] then return {-1, 0} end
local remaining = tonumber(s[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(s[2]) then return {2, remaining} end
if now >= tonumber(s[3]) then return {3, remaining} end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {4, remaining} end
if remaining <= 0 then return {0, 0} end
redis.call('HINCRBY', KEYS[1], 'remaining', -1)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
return {1, remaining - 1}
`;

/**
 * Loads the counters from Postgres figures unless they are there already (another instance may have
 * rebuilt first). ARGV = remaining, stock, startsAt ms, endsAt ms, expire-at ms. Buyers are added
 * before this runs (SADD is idempotent), so a loaded state always comes with its buyers. Returns 1 when
 * this call loaded it.
 */
export const LOAD_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'remaining', ARGV[1], 'stock', ARGV[2], 'startsAt', ARGV[3], 'endsAt', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
return 1
`;

/**
 * Gives a unit back. ARGV[1] = user id, ARGV[2] = mode:
 * - "hold": undo a purchase that never committed: only if its hold is still there (so the request's
 *   own undo and the stale-hold reconciler cannot both give it back), and the user is forgotten so
 *   they may try again;
 * - "hold-keep-buyer": the same, but the user stays a buyer (Postgres says they already bought);
 * - "unit": a committed purchase failed later: the unit returns, the user stays a buyer.
 * Never raises remaining above stock; does nothing when the state is not loaded (a rebuild counts
 * from Postgres). Returns remaining after, or -1 when nothing changed.
 */
export const RELEASE_LUA = `
if ARGV[2] ~= 'unit' then
  if redis.call('ZREM', KEYS[3], ARGV[1]) == 0 then return -1 end
  if ARGV[2] == 'hold' then redis.call('SREM', KEYS[2], ARGV[1]) end
end
local s = redis.call('HMGET', KEYS[1], 'remaining', 'stock')
if not s[1] then return -1 end
local remaining = math.min(tonumber(s[1]) + 1, tonumber(s[2]))
redis.call('HSET', KEYS[1], 'remaining', remaining)
return remaining
`;

/** Postgres says the sale is sold out: Redis agrees from now on (when loaded). */
export const SOLD_OUT_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'remaining', 0)
return 1
`;
