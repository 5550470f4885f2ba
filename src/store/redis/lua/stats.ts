/**
 * The shared request statistics' one write (src/stats/redis-stats.ts): a batch of buffered
 * increments applied atomically, so every instance's flush adds up and a cap on distinct
 * models/accounts/keys holds across all of them. Numbers travel as ARGV strings (HINCRBY parses
 * them), never through Lua doubles, so large sums keep their precision.
 *
 * KEYS: total hash, models hash, accounts hash, keys hash, log sorted set, log sequence counter,
 *   key-name hash, then one key per time bucket, one key per per-key usage day, and last this
 *   flush's mark: a batch resent after a lost reply finds its mark and is skipped.
 * ARGV: logSize, maxDimension, other-name, #buckets, #dimension entries, #log entries,
 *   log age cutoff (a 13-digit epoch-ms prefix; '' = no age limit), #usage days,
 *   total's 7 numbers,
 *   per bucket: expire-at (epoch ms), 7 numbers,
 *   per dimension entry: dimension (1 models, 2 accounts, 3 keys), id, 7 numbers,
 *   per log entry, oldest first: its 14-character `<13-digit time>:` prefix, its JSON,
 *   per usage day: time to live (ms), #keys, then per key: key id, key name ('' = none), 8 numbers.
 * The 7 numbers are total, success, failed, ms, tokens, cost, cost_estimated (micro-USD): METRICS of
 * src/stats/types.ts, in its order; the 8 usage numbers USAGE_METRICS of src/stats/log-query.ts.
 * Dimension and usage hashes hold `<metric>:<id>` fields.
 *
 * The log is a sorted set whose members all score 0 and sort by their text:
 * `<13-digit time>:<12-digit seq>:<JSON>`, so a lexicographic range is a time range and the
 * (time, seq) order is the member order; retention trims the oldest by rank (size) and by
 * lexicographic range (age).
 */
export const STATS_FLUSH_LUA = `
if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'PX', 3600000) then return 0 end
local FIELDS = {'total', 'success', 'failed', 'ms', 'tokens', 'cost', 'cost_estimated'}
local UFIELDS = {'total', 'success', 'failed', 'prompt_tokens', 'completion_tokens', 'tokens', 'cost', 'cost_estimated'}
local N = #FIELDS
local UN = #UFIELDS
local function incr(key, suffix, at)
  for i = 1, N do redis.call('HINCRBY', key, FIELDS[i] .. suffix, ARGV[at + i - 1]) end
end
local logSize = tonumber(ARGV[1])
local maxDim = tonumber(ARGV[2])
local nb, nd, nl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cutoff = ARGV[7]
local nu = tonumber(ARGV[8])
incr(KEYS[1], '', 9)
local at = 9 + N
for i = 1, nb do
  local key = KEYS[7 + i]
  incr(key, '', at + 1)
  redis.call('PEXPIREAT', key, ARGV[at])
  at = at + 1 + N
end
for i = 1, nd do
  local key = KEYS[1 + tonumber(ARGV[at])]
  local id = ARGV[at + 1]
  if redis.call('HEXISTS', key, 'total:' .. id) == 0 and redis.call('HLEN', key) >= maxDim * N then id = ARGV[3] end
  incr(key, ':' .. id, at + 2)
  at = at + 2 + N
end
if logSize > 0 then
  if nl > 0 then
    local seq = redis.call('INCRBY', KEYS[6], nl) - nl
    for i = 0, nl - 1 do
      seq = seq + 1
      redis.call('ZADD', KEYS[5], 0, ARGV[at + 2 * i] .. string.format('%012d', seq) .. ':' .. ARGV[at + 2 * i + 1])
    end
  end
  if cutoff ~= '' then redis.call('ZREMRANGEBYLEX', KEYS[5], '-', '(' .. cutoff) end
  local n = redis.call('ZCARD', KEYS[5])
  if n > logSize then redis.call('ZREMRANGEBYRANK', KEYS[5], 0, n - logSize - 1) end
else
  redis.call('DEL', KEYS[5])
end
at = at + 2 * nl
for d = 1, nu do
  local key = KEYS[7 + nb + d]
  local ttl = ARGV[at]
  local nk = tonumber(ARGV[at + 1])
  at = at + 2
  for k = 1, nk do
    local id, name = ARGV[at], ARGV[at + 1]
    for i = 1, UN do redis.call('HINCRBY', key, UFIELDS[i] .. ':' .. id, ARGV[at + 1 + i]) end
    if name ~= '' then redis.call('HSET', KEYS[7], id, name) end
    at = at + 2 + UN
  end
  redis.call('PEXPIRE', key, ttl)
end
return 1
`;
