/**
 * The account rules of ../../account-rules.ts, ../../select.ts and ../../report-rules.ts in Lua,
 * line by line, prepended to every script that touches accounts. The store contract suite
 * (test/contract) runs the same cases against both stores to prove they agree. Accounts are the
 * JSON form of `Account`; JSON null decodes to cjson.null, so every nullable field goes through
 * isnull(). Kept as a TS string so the build ships it inside dist/.
 */
export const RULES_LUA = `
local UNKNOWN_QUOTA = 9007199254740991
local TIER_RANK = { basic = 0, super = 1, heavy = 2 }

local function isnull(v) return v == nil or v == cjson.null end
local function contains(list, v)
  if type(list) ~= 'table' then return false end
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function settle(a, now)
  local changed = false
  if a.status == 'cooling' and (isnull(a.coolingUntil) or a.coolingUntil <= now) then
    a.status = 'active'
    a.coolingUntil = cjson.null
    changed = true
  end
  local drop = {}
  for mode, q in pairs(a.quotas) do
    if not isnull(q.resetAt) and q.resetAt <= now then
      if q.total > 0 then
        q.remaining = q.total
        q.resetAt = cjson.null
      else
        drop[#drop + 1] = mode
      end
      changed = true
    end
  end
  for _, m in ipairs(drop) do a.quotas[m] = nil end
  return changed
end

local function quotaWait(q, now)
  if q == nil or q.remaining > 0 then return 0 end
  if isnull(q.resetAt) then return math.huge end
  return math.max(0, q.resetAt - now)
end

local function modesFor(req, tier) return req.tierModes[tier] or {} end

local function couldServe(a, req)
  if a.status ~= 'active' and a.status ~= 'cooling' then return false end
  if (a.kind or 'grok') ~= (req.provider or 'grok') then return false end
  if (TIER_RANK[a.tier] or 0) < (TIER_RANK[req.minTier] or 0) then return false end
  if type(req.tags) == 'table' and #req.tags > 0 then
    local any = false
    for _, t in ipairs(a.tags) do if contains(req.tags, t) then any = true break end end
    if not any then return false end
  end
  local allowed = modesFor(req, a.tier)
  for _, m in ipairs(req.modes) do if contains(allowed, m) then return true end end
  return false
end

-- Returns mode, candidates | nil, reason, retryAfterMs (false when none)
local function findCandidates(accounts, req, now)
  local exclude = {}
  if type(req.exclude) == 'table' then for _, id in ipairs(req.exclude) do exclude[id] = true end end
  local usable = {}
  local anyCould = false
  for _, a in ipairs(accounts) do
    if couldServe(a, req) then
      anyCould = true
      if not exclude[a.id] then usable[#usable + 1] = a end
    end
  end
  if not anyCould then return nil, 'no_accounts', false end
  for _, mode in ipairs(req.modes) do
    local ready = {}
    for _, a in ipairs(usable) do
      if a.status == 'active' and a.inFlight < req.maxConcurrency and contains(modesFor(req, a.tier), mode)
        and quotaWait(a.quotas[mode], now) == 0 then
        ready[#ready + 1] = a
      end
    end
    if #ready > 0 then return mode, ready end
  end
  local soonest = math.huge
  for _, a in ipairs(usable) do
    local cool = 0
    if a.status == 'cooling' and not isnull(a.coolingUntil) then cool = math.max(0, a.coolingUntil - now) end
    local allowed = modesFor(req, a.tier)
    local quota = math.huge
    for _, m in ipairs(req.modes) do
      if contains(allowed, m) then quota = math.min(quota, quotaWait(a.quotas[m], now)) end
    end
    local wait = math.max(cool, quota)
    if wait > 0 and wait < soonest then soonest = wait end
  end
  if soonest == math.huge then return nil, 'none_available', false end
  return nil, 'none_available', soonest
end

local function cmp(a, b) if a < b then return -1 elseif a > b then return 1 else return 0 end end
local function compareLru(a, b)
  local ta = isnull(a.lastUsedAt) and -math.huge or a.lastUsedAt
  local tb = isnull(b.lastUsedAt) and -math.huge or b.lastUsedAt
  if ta == tb then return 0 elseif ta < tb then return -1 else return 1 end
end

-- Returns the picked account and the new round-robin cursor.
local function pickAccount(cands, mode, strategy, cursor, random)
  if strategy == 'max_quota' then
    local function left(a)
      local q = a.quotas[mode]
      if q == nil then return UNKNOWN_QUOTA end
      return q.remaining
    end
    local best = cands[1]
    for i = 2, #cands do
      local a = cands[i]
      local d = left(a) - left(best)
      if d == 0 then d = best.inFlight - a.inFlight end
      if d == 0 then d = compareLru(best, a) end
      if d == 0 then d = cmp(best.id, a.id) end
      if d > 0 then best = a end
    end
    return best, cursor
  elseif strategy == 'round_robin' then
    local sorted = {}
    for i, a in ipairs(cands) do sorted[i] = a end
    table.sort(sorted, function(x, y) return x.id < y.id end)
    local nxt = sorted[1]
    if cursor then
      for _, a in ipairs(sorted) do if a.id > cursor then nxt = a break end end
    end
    return nxt, nxt.id
  elseif strategy == 'random' then
    local i = math.min(#cands, math.floor(random * #cands) + 1)
    return cands[i], cursor
  else
    local best = cands[1]
    for i = 2, #cands do
      local a = cands[i]
      local d = compareLru(best, a)
      if d == 0 then d = best.inFlight - a.inFlight end
      if d == 0 then d = cmp(best.id, a.id) end
      if d > 0 then best = a end
    end
    return best, cursor
  end
end

local function spendOne(q, now, policy)
  if q == nil then return end
  q.remaining = math.max(0, q.remaining - 1)
  if q.remaining == 0 and (isnull(q.resetAt) or q.resetAt <= now) then
    if q.windowSeconds > 0 then q.resetAt = now + q.windowSeconds * 1000 else q.resetAt = now + policy.cooldownMs end
  end
end

local function coolUntil(a, untilMs)
  local current = -math.huge
  if a.status == 'cooling' and not isnull(a.coolingUntil) then current = a.coolingUntil end
  a.status = 'cooling'
  a.coolingUntil = math.max(current, untilMs)
end

local function allSpentUntil(a, tierModes, now)
  local earliest = math.huge
  for _, mode in ipairs(tierModes) do
    local q = a.quotas[mode]
    if q == nil or q.remaining > 0 or isnull(q.resetAt) or q.resetAt <= now then return nil end
    earliest = math.min(earliest, q.resetAt)
  end
  if earliest == math.huge then return nil end
  return earliest
end

local function applyOutcome(a, lease, outcome, policy, now)
  a.inFlight = math.max(0, a.inFlight - 1)
  if outcome.kind == 'aborted' then return end
  if outcome.kind == 'success' then
    a.useCount = a.useCount + 1
    a.lastUsedAt = now
    a.consecutiveFailures = 0
    spendOne(a.quotas[lease.mode], now, policy)
    return
  end
  a.failCount = a.failCount + 1
  a.lastError = outcome.message
  a.lastErrorAt = now
  if type(outcome.quality) == 'string' then
    if type(a.degraded) ~= 'table' then a.degraded = {} end
    a.degraded[outcome.quality] = (tonumber(a.degraded[outcome.quality]) or 0) + 1
  end
  local function managed() return a.status == 'active' or a.status == 'cooling' end
  local effect = outcome.effect
  local retryAfter = outcome.retryAfterMs
  if isnull(retryAfter) then retryAfter = nil end
  if effect == 'invalid' then
    a.status = 'invalid'
    a.coolingUntil = cjson.null
  elseif effect == 'cooldown' then
    local untilMs = now + (retryAfter or policy.cooldownMs)
    if managed() then coolUntil(a, untilMs) end
    local q = a.quotas[lease.mode]
    if q ~= nil then
      q.remaining = 0
      q.resetAt = untilMs
    end
  elseif effect == 'quota-exhausted' then
    local q = a.quotas[lease.mode]
    if q == nil then
      q = { remaining = 0, total = 0, windowSeconds = 0, resetAt = cjson.null }
      a.quotas[lease.mode] = q
    end
    local known = nil
    if not isnull(q.resetAt) and q.resetAt > now then known = q.resetAt end
    local fallback = policy.cooldownMs
    if q.windowSeconds > 0 then fallback = q.windowSeconds * 1000 end
    q.remaining = 0
    if retryAfter ~= nil then q.resetAt = now + retryAfter
    elseif known ~= nil then q.resetAt = known
    else q.resetAt = now + fallback end
    local untilMs = allSpentUntil(a, lease.tierModes, now)
    if untilMs ~= nil and managed() then coolUntil(a, untilMs) end
  end
  if effect == 'none' or effect == 'cooldown' then
    a.consecutiveFailures = a.consecutiveFailures + 1
    if policy.failThreshold > 0 and a.consecutiveFailures >= policy.failThreshold and managed() then
      a.status = 'disabled'
      a.coolingUntil = cjson.null
    end
  end
end
`;
