/**
 * One Lua script per mutating store operation (docs/architecture.md, *The store*). Each runs atomically inside
 * Redis, so any number of instances can lease and report against one pool. Time and randomness
 * come in as arguments (scripts must be deterministic and the clock injectable in tests).
 */
import { RULES_LUA } from './rules.js';

/** Loads every account into a list plus an id → account map. */
const LOAD_ACCOUNTS = `
local function loadAccounts(key)
  local flat = redis.call('HGETALL', key)
  local list, byId = {}, {}
  for i = 1, #flat, 2 do
    local a = cjson.decode(flat[i + 1])
    list[#list + 1] = a
    byId[a.id] = a
  end
  return list, byId
end
`;

/**
 * KEYS: accounts, leases, leaseExpiry, rrCursor.
 * ARGV: request JSON, now, random in [0,1), new lease id, lease TTL ms.
 * Reclaims expired leases (an instance died holding them), settles time, picks, takes a slot.
 * Returns {1, leaseJSON} | {0, reason, retryAfterMs or -1}.
 */
export const LEASE_LUA = `${RULES_LUA}${LOAD_ACCOUNTS}
local req = cjson.decode(ARGV[1])
local now = tonumber(ARGV[2])
local random = tonumber(ARGV[3])
local list, byId = loadAccounts(KEYS[1])
local dirty = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
for _, leaseId in ipairs(expired) do
  local raw = redis.call('HGET', KEYS[2], leaseId)
  if raw then
    local rec = cjson.decode(raw)
    local a = byId[rec.accountId]
    if a then
      a.inFlight = math.max(0, a.inFlight - 1)
      dirty[a.id] = a
    end
    redis.call('HDEL', KEYS[2], leaseId)
  end
  redis.call('ZREM', KEYS[3], leaseId)
end
for _, a in ipairs(list) do if settle(a, now) then dirty[a.id] = a end end
local mode, cands, retry = findCandidates(list, req, now)
local result
if mode == nil then
  result = { 0, cands, retry and math.ceil(retry) or -1 }
else
  local cursor = redis.call('GET', KEYS[4])
  if not cursor then cursor = nil end
  local acc, newCursor = pickAccount(cands, mode, req.strategy, cursor, random)
  if newCursor and newCursor ~= cursor then redis.call('SET', KEYS[4], newCursor) end
  acc.inFlight = acc.inFlight + 1
  dirty[acc.id] = acc
  local rec = { accountId = acc.id, mode = mode, tierModes = modesFor(req, acc.tier), at = now }
  redis.call('HSET', KEYS[2], ARGV[4], cjson.encode(rec))
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ARGV[4])
  result = { 1, cjson.encode({ leaseId = ARGV[4], accountId = acc.id, token = acc.token, tier = acc.tier, mode = mode }) }
end
for id, a in pairs(dirty) do redis.call('HSET', KEYS[1], id, cjson.encode(a)) end
return result
`;

/**
 * KEYS: accounts, leases, leaseExpiry. ARGV: lease id, outcome JSON, policy JSON, now.
 * Idempotent: an unknown (already reported or reclaimed) lease does nothing. Returns 1 | 0.
 */
export const REPORT_LUA = `${RULES_LUA}
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local rec = cjson.decode(raw)
local araw = redis.call('HGET', KEYS[1], rec.accountId)
if not araw then return 0 end
local a = cjson.decode(araw)
local now = tonumber(ARGV[4])
settle(a, now)
applyOutcome(a, rec, cjson.decode(ARGV[2]), cjson.decode(ARGV[3]), now)
redis.call('HSET', KEYS[1], a.id, cjson.encode(a))
return 1
`;

/** KEYS: leaseExpiry. ARGV: new expiry, lease ids… Extends leases this instance still holds. */
export const RENEW_LUA = `
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[1], ARGV[i]) end
return n
`;

/** KEYS: accounts, order, seq. ARGV: id1, json1, id2, json2… Returns 1/0 per item (added/skipped). */
export const IMPORT_LUA = `
local out = {}
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`;

/** KEYS: accounts. ARGV: id, patch JSON ({status?, tags?, note?, tier?}). Returns the new JSON or false. */
export const UPDATE_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local a = cjson.decode(raw)
local p = cjson.decode(ARGV[2])
if p.status ~= nil then
  a.status = p.status
  a.coolingUntil = cjson.null
  if p.status == 'active' then a.consecutiveFailures = 0 end
end
if p.tags ~= nil then a.tags = p.tags end
if p.note ~= nil then a.note = p.note end
if p.tier ~= nil then a.tier = p.tier end
local out = cjson.encode(a)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

/** KEYS: accounts. ARGV: id, quotas JSON, tier ('' = keep). */
export const SET_QUOTAS_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local a = cjson.decode(raw)
a.quotas = cjson.decode(ARGV[2])
if ARGV[3] ~= '' then a.tier = ARGV[3] end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(a))
return 1
`;

/** KEYS: accounts. ARGV: id, message, now. */
export const MARK_INVALID_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local a = cjson.decode(raw)
a.status = 'invalid'
a.coolingUntil = cjson.null
a.lastError = ARGV[2]
a.lastErrorAt = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(a))
return 1
`;

/** KEYS: accounts, order. ARGV: ids. Returns how many existed. */
export const DELETE_LUA = `
local n = 0
for i = 1, #ARGV do
  n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return n
`;

/**
 * KEYS: accounts, order. ARGV: now, filters… (statuses and/or 'exhausted'). Deletes every account
 * matching a filter at `now`, as account-rules.ts matchesStatusFilter decides (settled on the
 * decoded copy, which is not written back). Returns the deleted ids.
 */
export const DELETE_BY_STATUS_LUA = `${RULES_LUA}
local now = tonumber(ARGV[1])
local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local flat = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #flat, 2 do
  local a = cjson.decode(flat[i + 1])
  settle(a, now)
  local hit = wanted[a.status] == true
  if not hit and wanted.exhausted then
    local any, spent = false, true
    if type(a.quotas) == 'table' then
      for _, q in pairs(a.quotas) do
        any = true
        if q.remaining > 0 then spent = false end
      end
    end
    hit = any and spent
  end
  if hit then out[#out + 1] = flat[i] end
end
for _, id in ipairs(out) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return out
`;

/** KEYS: lock. ARGV: holder token. Deletes the lock only if this holder still owns it. */
export const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS: settings, settingsVersion. ARGV: overrides JSON, channel. Stores, bumps the version, announces it. */
export const SAVE_SETTINGS_LUA = `
redis.call('SET', KEYS[1], ARGV[1])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[2], v)
return v
`;
