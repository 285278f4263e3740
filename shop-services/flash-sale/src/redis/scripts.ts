/**
 * The Lua scripts that keep a sale's live counters in Redis. Each runs atomically on the server, so a
 * purchase checks the window, the buyer set and the stock and takes a unit in one step: no two buyers
 * can get the same unit. Keys of one sale share a hash tag (`{sale:<id>}`), so the scripts also work
 * on a Redis Cluster.
 *
 * A sale's units are slots 1..stock. A purchase takes a free slot; Postgres stores it with a unique
 * index per sale, so even a Redis that lost or duplicated slots can never make two purchases of one
 * unit (and there are only `stock` slots).
 *
 * KEYS of every script: [1] state hash {stock, remaining, buyers, startsAt, endsAt} (times in ms since
 * the epoch; remaining and buyers always equal the sizes of the two sets), [2] free slots set,
 * [3] buyers set (user ids), [4] holds sorted set (`<slot>:<user>` → when it was taken, ms).
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
 * ARGV[1] = user id. Returns {code, remaining, slot}. "Not loaded" means the state is missing (never
 * loaded, expired, Redis flushed) or a set was lost on its own (its size no longer matches the state;
 * the state is then dropped): the caller rebuilds from Postgres and asks again. Time is the Redis
 * server's, so every instance of the service agrees on when the sale opens and closes.
 */
export const PURCHASE_LUA = `
local s = redis.call('HMGET', KEYS[1], 'remaining', 'buyers', 'startsAt', 'endsAt')
if not s[1] then return {-1, 0, 0} end
local remaining = tonumber(s[1])
local buyers = tonumber(s[2])
if redis.call('SCARD', KEYS[2]) ~= remaining or redis.call('SCARD', KEYS[3]) ~= buyers then
  redis.call('DEL', KEYS[1])
  return {-1, 0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(s[3]) then return {2, remaining, 0} end
if now >= tonumber(s[4]) then return {3, remaining, 0} end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return {4, remaining, 0} end
if remaining <= 0 then return {0, 0, 0} end
local slot = redis.call('SPOP', KEYS[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[1], 'remaining', remaining - 1, 'buyers', buyers + 1)
redis.call('ZADD', KEYS[4], now, slot .. ':' .. ARGV[1])
return {1, remaining - 1, tonumber(slot)}
`;

/**
 * Loads the counters from Postgres figures unless the state is there already (another instance may
 * have rebuilt first), all in one step so a purchase never sees half of them. ARGV = stock, startsAt,
 * endsAt, expire-at (ms), number of free slots n, the n free slots, then the buyers. Returns 1 when this
 * call loaded them.
 */
export const LOAD_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3])
local n = tonumber(ARGV[5])
local chunk = 5000
for i = 6, 5 + n, chunk do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + chunk - 1, 5 + n)))
end
for i = 6 + n, #ARGV, chunk do
  redis.call('SADD', KEYS[3], unpack(ARGV, i, math.min(i + chunk - 1, #ARGV)))
end
redis.call('HSET', KEYS[1], 'stock', ARGV[1], 'startsAt', ARGV[2], 'endsAt', ARGV[3],
  'remaining', redis.call('SCARD', KEYS[2]), 'buyers', redis.call('SCARD', KEYS[3]))
for i = 1, 4 do redis.call('PEXPIREAT', KEYS[i], ARGV[4]) end
return 1
`;

/**
 * Gives a slot back or lets a buyer go. ARGV[1] = user id, ARGV[2] = slot, ARGV[3] = mode:
 * - "hold": undo a purchase that never committed: the slot is free again and the user may try again;
 * - "hold-keep-buyer": the same, but the user stays a buyer (Postgres says they already bought);
 * - "hold-slot-taken": Postgres says another purchase owns the slot: it stays taken, the user may try again;
 * - "unit": a committed purchase failed later: its slot is free again, the user stays a buyer.
 * The hold modes act only if the hold is still there, so the request's own undo and the stale-hold
 * reconciler cannot both act. Nothing changes when the state is not loaded (a rebuild counts from
 * Postgres). Returns remaining after, or -1 when nothing changed.
 */
export const RELEASE_LUA = `
local mode = ARGV[3]
if mode ~= 'unit' then
  if redis.call('ZREM', KEYS[4], ARGV[2] .. ':' .. ARGV[1]) == 0 then return -1 end
end
local s = redis.call('HMGET', KEYS[1], 'remaining', 'buyers', 'stock')
if not s[1] then return -1 end
local remaining = tonumber(s[1])
local buyers = tonumber(s[2])
if mode ~= 'hold-slot-taken' and tonumber(ARGV[2]) <= tonumber(s[3]) then
  remaining = remaining + redis.call('SADD', KEYS[2], ARGV[2])
end
if mode == 'hold' or mode == 'hold-slot-taken' then
  buyers = buyers - redis.call('SREM', KEYS[3], ARGV[1])
end
redis.call('HSET', KEYS[1], 'remaining', remaining, 'buyers', buyers)
return remaining
`;
