/**
 * Lua scripts of the Redis stock gate. Each runs atomically on the Redis server.
 *
 * One hash per product (`<prefix>p:<productId>`):
 *   a        units available to sell as Redis knows them (absent = unknown: after a flush or a new row)
 *   s        change counter, bumped by every script that touches the product (the reconciler's
 *            compare-and-set token)
 *   o:<op>   an in-flight operation: "<delta>|<applied>|<startedAtMs>". applied=1: a hold whose delta is
 *            already in `a` (Redis first, then Postgres); applied=0: a Postgres-first change whose delta
 *            is added to `a` only after Postgres committed.
 *
 * KEYS are the product hashes of one operation (distinct); times come from the Redis clock so that
 * every instance agrees on a marker's age.
 */

/**
 * A hash without `a` (an unknown product, or one not rebuilt yet) only holds markers and the counter:
 * let it expire, so ids that never get a stock row cannot pile up keys. APPLY persists it. The expiry is
 * far above any reconciliation round, so a counter never restarts under a running compare-and-set.
 */
const FORGET_UNKNOWN = `
local function forgetUnknown(k)
  if redis.call('HEXISTS', k, 'a') == 0 then redis.call('PEXPIRE', k, 600000) end
end
`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * All-or-nothing hold. ARGV: opId, quantity per key.
 * Returns {1} held; {0, i, available, inFlightHeld} not enough at key i; {-1, i} key i has no `a`.
 */
export const HOLD_LUA = `${NOW}
for i, k in ipairs(KEYS) do
  local a = redis.call('HGET', k, 'a')
  if not a then return {-1, i} end
  local q = tonumber(ARGV[i + 1])
  if tonumber(a) < q then
    local held = 0
    local all = redis.call('HGETALL', k)
    for j = 1, #all, 2 do
      if string.sub(all[j], 1, 2) == 'o:' then
        local d, applied = string.match(all[j + 1], '^(-?%d+)|(%d)|')
        if applied == '1' then held = held - tonumber(d) end
      end
    end
    return {0, i, tonumber(a), held}
  end
end
local f = 'o:' .. ARGV[1]
for i, k in ipairs(KEYS) do
  local q = tonumber(ARGV[i + 1])
  redis.call('HINCRBY', k, 'a', -q)
  redis.call('HSET', k, f, (-q) .. '|1|' .. now)
  redis.call('HINCRBY', k, 's', 1)
end
return {1}
`;

/** Postgres committed a hold: forget the marker (its delta stays in a). ARGV: opId. */
export const SETTLE_LUA = `${FORGET_UNKNOWN}
local f = 'o:' .. ARGV[1]
for _, k in ipairs(KEYS) do
  redis.call('HDEL', k, f)
  redis.call('HINCRBY', k, 's', 1)
  forgetUnknown(k)
end
return 1
`;

/**
 * Postgres refused or failed a hold: give the units back, but only if the marker is still there (a
 * reconciliation that already dropped it also left its delta out of a). ARGV: opId.
 */
export const UNDO_LUA = `${FORGET_UNKNOWN}
local f = 'o:' .. ARGV[1]
for _, k in ipairs(KEYS) do
  local v = redis.call('HGET', k, f)
  if v then
    redis.call('HDEL', k, f)
    local d, applied = string.match(v, '^(-?%d+)|(%d)|')
    if applied == '1' and redis.call('HEXISTS', k, 'a') == 1 then redis.call('HINCRBY', k, 'a', -tonumber(d)) end
  end
  redis.call('HINCRBY', k, 's', 1)
  forgetUnknown(k)
end
return 1
`;

/** Announces a Postgres-first change before its transaction. ARGV: opId. */
export const BEGIN_LUA = `${NOW}${FORGET_UNKNOWN}
local f = 'o:' .. ARGV[1]
for _, k in ipairs(KEYS) do
  redis.call('HSET', k, f, '0|0|' .. now)
  redis.call('HINCRBY', k, 's', 1)
  forgetUnknown(k)
end
return 1
`;

/**
 * Ends a Postgres-first change: adds what Postgres really committed to a, if the marker is still
 * there (a reconciliation that dropped it read a snapshot that already had the change) and a is
 * known. ARGV: opId, delta per key (0 when the transaction changed nothing or failed).
 */
export const FINISH_LUA = `${FORGET_UNKNOWN}
local f = 'o:' .. ARGV[1]
for i, k in ipairs(KEYS) do
  if redis.call('HDEL', k, f) == 1 then
    local d = tonumber(ARGV[i + 1])
    if d ~= 0 and redis.call('HEXISTS', k, 'a') == 1 then redis.call('HINCRBY', k, 'a', d) end
  end
  redis.call('HINCRBY', k, 's', 1)
  forgetUnknown(k)
end
return 1
`;

/** The reconciler's first look: {nowMs, fields of key 1, fields of key 2, …} (HGETALL each). */
export const SNAPSHOT_LUA = `${NOW}
local out = {now}
for i, k in ipairs(KEYS) do out[i + 1] = redis.call('HGETALL', k) end
return out
`;

/**
 * The reconciler's compare-and-set. ARGV per key, in order: expected s ('' = absent), new a, number
 * of markers to drop, then their op ids. A key whose s moved since the snapshot is left alone.
 * Returns per key: 'skip', 'missing' (a was absent) or the old a.
 */
export const APPLY_LUA = `
local out = {}
local p = 1
for i, k in ipairs(KEYS) do
  local expected = ARGV[p]
  local target = ARGV[p + 1]
  local n = tonumber(ARGV[p + 2])
  local s = redis.call('HGET', k, 's') or ''
  if s ~= expected then
    out[i] = 'skip'
  else
    local old = redis.call('HGET', k, 'a')
    redis.call('HSET', k, 'a', target)
    redis.call('PERSIST', k)
    for j = 1, n do redis.call('HDEL', k, 'o:' .. ARGV[p + 2 + j]) end
    redis.call('HINCRBY', k, 's', 1)
    out[i] = old or 'missing'
  end
  p = p + 3 + n
end
return out
`;
