/**
 * Admin sessions and the login throttle shared by every instance through Redis (same contract
 * as the local store). Keys: `{p}:admin:sessions` (hash lookup id → expiry ms) and
 * `{p}:admin:login:<client>` (hash tries/next, expiring when the streak is forgotten). Each
 * change is one command or one Lua script, so instances never disagree.
 */
import type { Redis } from 'ioredis';
import { LOGIN_THROTTLE, type LoginSlot, type SessionStore } from '../sessions.js';
import { isConnectionError, storeUnavailable } from './connection.js';
import type { RedisKeys } from './keys.js';

/** KEYS: sessions. ARGV: lookup id, expiry, now. Drops expired sessions, adds the new one. */
const CREATE = `
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(all[i + 1]) <= tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** KEYS: sessions. ARGV: now → number of live sessions ended. */
const REMOVE_ALL = `
local all = redis.call('HGETALL', KEYS[1])
local live = 0
for i = 2, #all, 2 do
  if tonumber(all[i]) > tonumber(ARGV[1]) then live = live + 1 end
end
redis.call('DEL', KEYS[1])
return live`;

/**
 * KEYS: the client's throttle hash. ARGV: now, base delay, max delay, forget after.
 * → {1, wait} or {0, retry after}. The rule of sessions.ts claimLoginSlot, written in Lua.
 */
const CLAIM = `
local now = tonumber(ARGV[1])
local base, maxDelay, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries') or '0')
local nextAt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
local at = math.max(now, nextAt)
if at - now > maxDelay then return {0, at - now - maxDelay} end
tries = tries + 1
nextAt = at + math.min(maxDelay, base * 2 ^ (tries - 1))
redis.call('HSET', KEYS[1], 'tries', tries, 'next', nextAt)
redis.call('PEXPIREAT', KEYS[1], nextAt + forget)
return {1, at - now}`;

export class RedisSessionStore implements SessionStore {
  private readonly sessions: string;

  constructor(
    private readonly client: Redis,
    private readonly keys: RedisKeys,
    private readonly label: string,
  ) {
    this.sessions = keys.key('admin', 'sessions');
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

  async create(lookupId: string, expiresAt: number): Promise<void> {
    await this.run(() => this.client.eval(CREATE, 1, this.sessions, lookupId, expiresAt, Date.now()));
  }

  async isValid(lookupId: string, now = Date.now()): Promise<boolean> {
    const exp = await this.run(() => this.client.hget(this.sessions, lookupId));
    return exp !== null && Number(exp) > now;
  }

  async remove(lookupId: string): Promise<void> {
    await this.run(() => this.client.hdel(this.sessions, lookupId));
  }

  async removeAll(): Promise<number> {
    return Number(await this.run(() => this.client.eval(REMOVE_ALL, 1, this.sessions, Date.now())));
  }

  async claimLoginSlot(client: string, now = Date.now()): Promise<LoginSlot> {
    const { baseDelayMs, maxDelayMs, forgetAfterMs } = LOGIN_THROTTLE;
    const [ok, ms] = (await this.run(() => this.client.eval(CLAIM, 1, this.loginKey(client), now, baseDelayMs, maxDelayMs, forgetAfterMs))) as [number, number];
    return ok === 1 ? { ok: true, waitMs: Number(ms) } : { ok: false, retryAfterMs: Number(ms) };
  }

  async clearLoginFailures(client: string): Promise<void> {
    await this.run(() => this.client.del(this.loginKey(client)));
  }

  private loginKey(client: string): string {
    return this.keys.key('admin', 'login', client);
  }
}
