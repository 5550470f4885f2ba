/**
 * Client keys shared by every instance through Redis (same contract as the local key store).
 * Keys: `{p}:clientkeys` (hash id → key JSON), `{p}:clientkeys:byhash` (hash digest → id),
 * `{p}:clientkeys:used` (hash id → last-used ms), `{p}:clientkeys:rpmlog:<id>` and
 * `…:rpdlog:<id>` (sliding-window logs, rate-window.ts, that expire a window after their last write). `hit` is one Lua script, so a limit holds no
 * matter how many instances count against it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  RPD_WINDOW_MS,
  RPM_WINDOW_MS,
  type ClientKey,
  type ClientKeyPatch,
  type HitResult,
  type KeyStore,
  type NewClientKey,
  type RateLimits,
  withKeyDefaults,
} from '../keys.js';
import { WINDOW_BUCKETS } from '../rate-window.js';
import { isConnectionError, storeUnavailable } from './connection.js';
import type { RedisKeys } from './keys.js';

/**
 * The sliding windows of rate-window.ts, ported line by line (logs as JSON strings that expire a
 * window after their last write). KEYS: rpm log, rpd log, key hash, used hash. ARGV: id, rpm
 * limit, rpd limit (-1 = none), rpm window, rpd window, now, buckets per window.
 */
const HIT = `
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return {1, 0, 0} end
local now = tonumber(ARGV[6])
local buckets = tonumber(ARGV[7])
local logs = {}
for i = 1, 2 do
  local limit = tonumber(ARGV[1 + i])
  local window = tonumber(ARGV[3 + i])
  local log = {}
  if limit >= 0 then
    local raw = redis.call('GET', KEYS[i])
    if raw then
      for _, b in ipairs(cjson.decode(raw)) do
        if b[3] + window > now then log[#log + 1] = b end
      end
    end
    local total = 0
    for _, b in ipairs(log) do total = total + b[2] end
    if total >= limit then
      for _, b in ipairs(log) do
        total = total - b[2]
        if total < limit then return {0, i, math.max(1, b[3] + window - now)} end
      end
      return {0, i, window}
    end
  end
  logs[i] = log
end
for i = 1, 2 do
  local window = tonumber(ARGV[3 + i])
  if tonumber(ARGV[1 + i]) < 0 then
    redis.call('DEL', KEYS[i])
  else
    local log = logs[i]
    local index = math.floor(now / (window / buckets))
    local last = log[#log]
    if last and last[1] >= index then
      last[2] = last[2] + 1
      if now > last[3] then last[3] = now end
    else
      log[#log + 1] = {index, 1, now}
    end
    redis.call('SET', KEYS[i], cjson.encode(log), 'PX', window)
  end
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
return {1, 0, 0}`;

/** KEYS: key hash, byhash, used. ARGV: digest → {json, lastUsed} or nil. */
const FIND = `
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return nil end
return {redis.call('HGET', KEYS[1], id), redis.call('HGET', KEYS[3], id)}`;

/** KEYS: key hash. ARGV: id, expected JSON, new JSON → 1 when replaced, 0 when it changed meanwhile, -1 when gone. */
const CAS = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/** KEYS: key hash, byhash, used, rpm, rpd. ARGV: id → 1 when it existed. */
const REVOKE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
redis.call('HDEL', KEYS[2], cjson.decode(cur).hash)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4], KEYS[5])
return 1`;

type Stored = Omit<ClientKey, 'lastUsedAt'>;
/** A stored key, read with the defaults of fields added after it was written. */
const parse = (json: string): Stored => withKeyDefaults(JSON.parse(json) as Stored);

export class RedisKeyStore implements KeyStore {
  private readonly hash: string;
  private readonly byHash: string;
  private readonly used: string;

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly label: string,
  ) {
    this.hash = keys.key('clientkeys');
    this.byHash = keys.key('clientkeys', 'byhash');
    this.used = keys.key('clientkeys', 'used');
  }

  private counters(id: string): [string, string] {
    // Not the names of the fixed-window counters before them (integers, not logs; they expire by themselves).
    return [this.keys.key('clientkeys', 'rpmlog', id), this.keys.key('clientkeys', 'rpdlog', id)];
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.label);
      throw err;
    }
  }

  /** The connection belongs to the account store, which opens and closes it. */
  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async create(input: NewClientKey): Promise<ClientKey> {
    const key: Stored = { ...input, id: `key_${randomBytes(8).toString('hex')}`, createdAt: Date.now() };
    await this.run(() => this.client.multi().hset(this.hash, key.id, JSON.stringify(key)).hset(this.byHash, key.hash, key.id).exec());
    return { ...key, lastUsedAt: null };
  }

  async list(): Promise<ClientKey[]> {
    const [all, used] = await this.run(() => Promise.all([this.client.hgetall(this.hash), this.client.hgetall(this.used)]));
    return Object.values(all).map((json) => {
      const k = parse(json);
      return { ...k, lastUsedAt: used[k.id] ? Number(used[k.id]) : null };
    });
  }

  async get(id: string): Promise<ClientKey | null> {
    const [json, used] = await this.run(() => Promise.all([this.client.hget(this.hash, id), this.client.hget(this.used, id)]));
    return json ? { ...parse(json), lastUsedAt: used ? Number(used) : null } : null;
  }

  async findByHash(digest: string): Promise<ClientKey | null> {
    const r = (await this.run(() => this.client.eval(FIND, 3, this.hash, this.byHash, this.used, digest))) as [string | null, string | null] | null;
    if (!r || !r[0]) return null;
    return { ...parse(r[0]), lastUsedAt: r[1] ? Number(r[1]) : null };
  }

  async update(id: string, patch: ClientKeyPatch): Promise<ClientKey | null> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    // Optimistic compare-and-set: retried if another instance changed the key in between.
    for (let i = 0; i < 10; i++) {
      const cur = await this.run(() => this.client.hget(this.hash, id));
      if (!cur) return null;
      const next = JSON.stringify({ ...(JSON.parse(cur) as Stored), ...defined });
      const r = Number(await this.run(() => this.client.eval(CAS, 1, this.hash, id, cur, next)));
      if (r === -1) return null;
      if (r === 1) {
        if (patch.rpm !== undefined || patch.rpd !== undefined) await this.run(() => this.client.del(...this.counters(id)));
        return this.get(id);
      }
    }
    throw new Error('client key changed concurrently too often; retry');
  }

  async revoke(id: string): Promise<boolean> {
    return Number(await this.run(() => this.client.eval(REVOKE, 5, this.hash, this.byHash, this.used, ...this.counters(id), id))) === 1;
  }

  async count(): Promise<number> {
    return this.run(() => this.client.hlen(this.hash));
  }

  async hit(id: string, limits: RateLimits, now = Date.now()): Promise<HitResult> {
    const [rpm, rpd] = this.counters(id);
    const r = (await this.run(() =>
      this.client.eval(HIT, 4, rpm, rpd, this.hash, this.used, id, limits.rpm ?? -1, limits.rpd ?? -1, RPM_WINDOW_MS, RPD_WINDOW_MS, now, WINDOW_BUCKETS),
    )) as [number, number, number];
    if (r[0] === 1) return { ok: true };
    return { ok: false, limit: r[1] === 1 ? 'rpm' : 'rpd', retryAfterMs: Math.max(1, Number(r[2])) };
  }
}
