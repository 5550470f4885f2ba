/**
 * The shared request statistics' one write (src/stats/redis-stats.ts): a batch of buffered
 * increments applied atomically, so every instance's flush adds up and a cap on distinct
 * models/accounts/keys holds across all of them. Numbers travel as ARGV strings (HINCRBY parses
 * them), never through Lua doubles, so large sums keep their precision.
 *
 * KEYS: total hash, models hash, accounts hash, keys hash, log list, then one key per time bucket,
 *   and last this flush's mark: a batch resent after a lost reply finds its mark and is skipped.
 * ARGV: logSize, maxDimension, other-name, #buckets, #dimension entries, #log entries,
 *   total's 7 numbers,
 *   per bucket: expire-at (epoch ms), 7 numbers,
 *   per dimension entry: dimension (1 models, 2 accounts, 3 keys), id, 7 numbers,
 *   log entries as JSON, oldest first.
 * The 7 numbers are total, success, failed, ms, tokens, cost, cost_estimated (micro-USD): METRICS of
 * src/stats/types.ts, in its order. Dimension hashes hold `<metric>:<id>` fields.
 */
export const STATS_FLUSH_LUA = `
if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'PX', 3600000) then return 0 end
local FIELDS = {'total', 'success', 'failed', 'ms', 'tokens', 'cost', 'cost_estimated'}
local N = #FIELDS
local function incr(key, suffix, at)
  for i = 1, N do redis.call('HINCRBY', key, FIELDS[i] .. suffix, ARGV[at + i - 1]) end
end
local logSize = tonumber(ARGV[1])
local maxDim = tonumber(ARGV[2])
local nb, nd, nl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
incr(KEYS[1], '', 7)
local at = 7 + N
for i = 1, nb do
  local key = KEYS[5 + i]
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
  for i = 0, nl - 1 do redis.call('LPUSH', KEYS[5], ARGV[at + i]) end
  redis.call('LTRIM', KEYS[5], 0, logSize - 1)
else
  redis.call('DEL', KEYS[5])
end
return 1
`;
