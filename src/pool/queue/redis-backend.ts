/**
 * The slot queue on Redis, shared by every instance on the store: one sorted set orders all
 * waiters by a global arrival sequence, a second holds their expiry (an instance that dies leaves
 * its waiters behind; they drop out once expired). Members are `<queue>|<waiter id>`; the queue
 * names are hex digests, so never contain `|`. notify() is a pub/sub message every instance hears.
 */
import type { RedisStore } from '../../store/redis/redis-store.js';
import { isConnectionError, storeUnavailable } from '../../store/redis/connection.js';
import type { QueueBackend } from './backend.js';

/** Drops expired waiters from both sets. Needs KEYS[1] = order, KEYS[2] = expiry, ARGV[1] = now. */
const PRUNE = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
`;

/** KEYS: order, expiry, seq. ARGV: now, member, expiresAt, max. Returns 1 when joined, 0 when full. */
const JOIN = `${PRUNE}
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], seq, ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
`;

/** KEYS: order, expiry. ARGV: now, queue, count. The ids of the queue's oldest waiters. */
const HEAD = `${PRUNE}
local prefix = ARGV[2] .. '|'
local count = tonumber(ARGV[3])
local ids = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, #prefix) == prefix then
    ids[#ids + 1] = string.sub(m, #prefix + 1)
    if #ids >= count then break end
  end
end
return ids
`;

/** KEYS: order, expiry. ARGV: now. Live waiters. */
const DEPTH = `${PRUNE}
return redis.call('ZCARD', KEYS[2])
`;

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

export class RedisQueueBackend implements QueueBackend {
  readonly shared = true;
  private readonly order: string;
  private readonly expiry: string;
  private readonly seq: string;
  private readonly channel: string;

  constructor(private readonly store: RedisStore, private readonly now: () => number = Date.now) {
    const k = store.keys;
    this.order = k.key('queue');
    this.expiry = k.key('queue', 'expiry');
    this.seq = k.key('queue', 'seq');
    this.channel = k.key('chan', 'queue');
    store.client.defineCommand('g2aQueueJoin', { numberOfKeys: 3, lua: JOIN });
    store.client.defineCommand('g2aQueueHead', { numberOfKeys: 2, lua: HEAD });
    store.client.defineCommand('g2aQueueDepth', { numberOfKeys: 2, lua: DEPTH });
  }

  private cmd(name: string): Cmd {
    return (this.store.client as unknown as Record<string, Cmd>)[name]!.bind(this.store.client);
  }

  /** "Cannot reach Redis" becomes the 503 every route understands, as in the store. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.store.label);
      throw err;
    }
  }

  async join(queue: string, id: string, expiresAt: number, max: number): Promise<boolean> {
    const joined = await this.run(() => this.cmd('g2aQueueJoin')(this.order, this.expiry, this.seq, this.now(), `${queue}|${id}`, expiresAt, max));
    return joined === 1;
  }

  async leave(queue: string, id: string): Promise<void> {
    const member = `${queue}|${id}`;
    await this.run(() => this.store.client.multi().zrem(this.order, member).zrem(this.expiry, member).exec());
  }

  async head(queue: string, count: number): Promise<string[]> {
    return (await this.run(() => this.cmd('g2aQueueHead')(this.order, this.expiry, this.now(), queue, count))) as string[];
  }

  async depth(): Promise<number> {
    return Number(await this.run(() => this.cmd('g2aQueueDepth')(this.order, this.expiry, this.now())));
  }

  async notify(): Promise<void> {
    await this.store.publish(this.channel, '1');
  }

  async onNotify(fn: () => void): Promise<void> {
    await this.store.subscribe(this.channel, fn);
  }
}
