/**
 * Video tasks in Redis (contract in ../tasks.ts): one JSON key per task plus a sorted set by
 * creation time; every change is one Lua script that also publishes the new task on the tasks
 * channel, which the dedicated subscriber connection turns into `subscribe` callbacks on every
 * instance. `transition` is a compare-and-set on the status inside the script.
 */
import type { TaskListener, TaskPatch, TaskStatus, TaskStore, VideoTask } from '../tasks.js';
import { isConnectionError, storeUnavailable } from './connection.js';
import type { RedisStore } from './redis-store.js';

const TASK_LIB = `
local function isnull(v) return v == nil or v == cjson.null end
local function save(key, t, channel)
  local json = cjson.encode(t)
  redis.call('SET', key, json)
  redis.call('PUBLISH', channel, json)
  return json
end
`;

/** KEYS: task, index. ARGV: json, createdAt, channel. */
const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
  redis.call('PUBLISH', ARGV[3], ARGV[1])
  return 1
end
return 0
`;

/** KEYS: task. ARGV: from statuses JSON, patch JSON, now, channel. */
const TRANSITION = `${TASK_LIB}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local t = cjson.decode(raw)
local ok = false
for _, s in ipairs(cjson.decode(ARGV[1])) do if s == t.status then ok = true end end
if not ok then return false end
for k, v in pairs(cjson.decode(ARGV[2])) do t[k] = v end
t.updatedAt = tonumber(ARGV[3])
return save(KEYS[1], t, ARGV[4])
`;

/** KEYS: task. ARGV: progress, message ('' with flag 0 = keep), hasMessage, now, channel. */
const PROGRESS = `${TASK_LIB}
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local t = cjson.decode(raw)
local p = tonumber(ARGV[1])
if t.status ~= 'running' or p <= t.progress then return 0 end
t.progress = math.min(100, math.floor(p + 0.5))
if ARGV[3] == '1' then t.message = ARGV[2] end
t.updatedAt = tonumber(ARGV[4])
save(KEYS[1], t, ARGV[5])
return 1
`;

/** KEYS: index. ARGV: task keys… Returns how many existed. */
const DELETE = `
local n = 0
for i = 1, #ARGV do
  n = n + redis.call('DEL', ARGV[i])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return n
`;

/**
 * KEYS: index. ARGV: mode ('expire' | 'orphans'), before, liveOwner, message, now, channel.
 * Walks the index (tasks are few: they expire) and returns the affected tasks' JSON.
 */
const SWEEP = `${TASK_LIB}
local out = {}
local before = tonumber(ARGV[2])
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('ZREM', KEYS[1], key)
  else
    local t = cjson.decode(raw)
    if ARGV[1] == 'expire' then
      local at = t.updatedAt
      if not isnull(t.completedAt) then at = t.completedAt end
      if (t.status == 'completed' or t.status == 'failed' or t.status == 'cancelled') and at < before then
        redis.call('DEL', key)
        redis.call('ZREM', KEYS[1], key)
        out[#out + 1] = raw
      end
    elseif (t.status == 'pending' or t.status == 'running') and t.owner ~= ARGV[3] and t.updatedAt < before then
      local now = tonumber(ARGV[5])
      t.status = 'failed'
      t.message = ARGV[4]
      t.completedAt = now
      t.updatedAt = now
      out[#out + 1] = save(key, t, ARGV[6])
    end
  end
end
return out
`;

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

export class RedisTaskStore implements TaskStore {
  private readonly listeners = new Map<string, Set<TaskListener>>();
  private readonly index: string;
  private readonly channel: string;

  constructor(private readonly store: RedisStore) {
    this.index = store.keys.key('tasks');
    this.channel = store.keys.tasksChannel;
    const c = store.client;
    c.defineCommand('g2aTaskCreate', { numberOfKeys: 2, lua: CREATE });
    c.defineCommand('g2aTaskTransition', { numberOfKeys: 1, lua: TRANSITION });
    c.defineCommand('g2aTaskProgress', { numberOfKeys: 1, lua: PROGRESS });
    c.defineCommand('g2aTaskDelete', { numberOfKeys: 1, lua: DELETE });
    c.defineCommand('g2aTaskSweep', { numberOfKeys: 1, lua: SWEEP });
  }

  /** Subscribes to the tasks channel (call once, before use). */
  async init(): Promise<void> {
    await this.store.subscribe(this.channel, (json) => {
      const task = decode(json);
      for (const fn of this.listeners.get(task.id) ?? []) fn(task);
    });
  }

  private cmd(name: string): Cmd {
    return (this.store.client as unknown as Record<string, Cmd>)[name]!.bind(this.store.client);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.store.label);
      throw err;
    }
  }

  private key(id: string): string {
    return this.store.keys.key('task', id);
  }

  async create(task: VideoTask): Promise<void> {
    await this.run(() => this.cmd('g2aTaskCreate')(this.key(task.id), this.index, JSON.stringify(task), task.createdAt, this.channel));
  }

  async get(id: string): Promise<VideoTask | null> {
    const json = await this.run(() => this.store.client.get(this.key(id)));
    return json === null ? null : decode(json);
  }

  async list(status?: TaskStatus): Promise<VideoTask[]> {
    const keys = await this.run(() => this.store.client.zrange(this.index, 0, -1));
    if (keys.length === 0) return [];
    const values = await this.run(() => this.store.client.mget(...keys));
    const tasks = values.filter((v): v is string => v !== null).map(decode);
    return tasks.filter((t) => !status || t.status === status).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  }

  async transition(id: string, from: readonly TaskStatus[], patch: TaskPatch): Promise<VideoTask | null> {
    const json = (await this.run(() => this.cmd('g2aTaskTransition')(this.key(id), JSON.stringify(from), JSON.stringify(patch), Date.now(), this.channel))) as string | null;
    return json ? decode(json) : null;
  }

  async progress(id: string, progress: number, message?: string): Promise<void> {
    await this.run(() => this.cmd('g2aTaskProgress')(this.key(id), progress, message ?? '', message === undefined ? '0' : '1', Date.now(), this.channel));
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.run(() => this.cmd('g2aTaskDelete')(this.index, ...ids.map((id) => this.key(id))))) as number;
  }

  async expire(before: number): Promise<VideoTask[]> {
    const out = (await this.run(() => this.cmd('g2aTaskSweep')(this.index, 'expire', before, '', '', Date.now(), this.channel))) as string[];
    return out.map(decode);
  }

  async recoverOrphans(liveOwner: string, staleBefore: number, message: string): Promise<VideoTask[]> {
    const out = (await this.run(() => this.cmd('g2aTaskSweep')(this.index, 'orphans', staleBefore, liveOwner, message, Date.now(), this.channel))) as string[];
    return out.map(decode);
  }

  subscribe(id: string, fn: TaskListener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  async close(): Promise<void> {}
}

/** cjson writes JSON null back as null, but an empty object/array both as {}; params never is empty. */
function decode(json: string): VideoTask {
  return JSON.parse(json) as VideoTask;
}
