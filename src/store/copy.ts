/**
 * Copies what a deployment keeps from one storage to another (`npm run store:copy`), so moving
 * from the embedded local files to Redis or a SQL database (or back, or between them) needs no
 * re-import: accounts (token, tier, tags, note, status, quota windows), client keys (same secret
 * digests, limits, models, tags, expiry), runtime settings, video tasks, unexpired stored
 * responses and the generated admin key. Idempotent: running it again adds nothing twice, it
 * only brings changed values in line. Usage counters and statistics start afresh in the target.
 *
 * The server should not be running on a local source or target while this runs (local storage
 * belongs to one process).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { parse as parseToml } from 'smol-toml';
import type { Config } from '../config/schema.js';
import { LocalTaskStore } from './local/local-task-store.js';
import { openStorage, type Storage } from './open-storage.js';
import type { RedisStore } from './redis/redis-store.js';
import { RESPONSE_ID_RE } from './responses.js';
import type { SqlStore } from './sql/sql-store.js';
import type { TaskStore } from './tasks.js';

export type StorageType = Config['server']['storage_type'];
export const STORAGE_TYPES: readonly StorageType[] = ['local', 'redis', 'pgsql', 'mysql'];

export interface Endpoint {
  type: StorageType;
  /** Redis or database URL (default: the configured one). */
  url?: string;
  /** DATA_DIR of a local store (default: the configured one). */
  dir?: string;
  /** Redis key prefix or table prefix (default: the configured one). */
  prefix?: string;
}

export interface CopyReport {
  accounts: { added: number; updated: number };
  keys: { added: number; updated: number };
  settings: number;
  tasks: { added: number; existing: number };
  responses: number;
  adminKey: 'copied' | 'same' | 'kept-target' | 'none';
}

/** Sections and keys that are start-up only, never runtime settings. */
const NOT_SETTINGS = ['server', 'redis', 'database'];

/** The configuration an endpoint opens with: `base` with the endpoint's storage type and location. */
export function endpointConfig(base: Config, ep: Endpoint): Config {
  const c: Config = structuredClone(base);
  c.server.storage_type = ep.type;
  if (ep.dir) c.server.data_dir = ep.dir;
  if (ep.type === 'redis') {
    if (ep.url) c.redis.url = ep.url;
    if (ep.prefix) c.redis.prefix = ep.prefix;
  }
  if (ep.type === 'pgsql' || ep.type === 'mysql') {
    if (ep.url) c.database.url = ep.url;
    if (ep.prefix) c.database.table_prefix = ep.prefix;
    if (!c.database.url) throw new Error(`--${ep.type === 'pgsql' ? 'pgsql' : 'mysql'} needs a database URL: DATABASE_URL or --from-url/--to-url`);
  }
  return c;
}

/** Where an endpoint's data lives, to refuse copying a store onto itself. */
function place(c: Config): string {
  const t = c.server.storage_type;
  if (t === 'local') return `local:${c.server.data_dir}`;
  if (t === 'redis') return `redis:${c.redis.url}|${c.redis.prefix}`;
  return `${t}:${c.database.url}|${c.database.table_prefix}`;
}

interface Opened {
  storage: Storage;
  tasks: TaskStore;
  config: Config;
  close(): Promise<void>;
}

async function open(config: Config): Promise<Opened> {
  const log = pino({ level: 'silent' });
  const storage = await openStorage(config, log);
  const local = storage.tasks ? null : new LocalTaskStore(config.server.data_dir);
  await local?.init();
  return {
    storage,
    tasks: storage.tasks ?? local!,
    config,
    async close() {
      await local?.close();
      await storage.stats.close();
      await storage.store.close();
      await storage.responses.close();
      await storage.keys.close();
      await storage.sessions.close();
    },
  };
}

/** Runtime settings overrides kept by a storage (local: DATA_DIR/config.toml minus start-up sections). */
async function loadSettings(o: Opened): Promise<Record<string, unknown>> {
  let tree: Record<string, unknown> | null;
  if (o.config.server.storage_type === 'local') {
    const path = join(o.config.server.data_dir, 'config.toml');
    tree = existsSync(path) ? (parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
  } else {
    tree = await o.storage.settings.load();
  }
  const out: Record<string, unknown> = { ...(tree ?? {}) };
  for (const s of NOT_SETTINGS) delete out[s];
  const app = out.app as Record<string, unknown> | undefined;
  if (app && 'app_key' in app) {
    const { app_key: _, ...rest } = app;
    out.app = rest;
    if (Object.keys(rest).length === 0) delete out.app;
  }
  return out;
}

/** Ids of the unexpired stored responses (the ResponseStore contract has no listing: each backend is read directly). */
async function responseIds(o: Opened): Promise<string[]> {
  const type = o.config.server.storage_type;
  if (type === 'local') {
    const dir = join(o.config.server.data_dir, 'responses');
    if (!existsSync(dir)) return [];
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((id) => RESPONSE_ID_RE.test(id));
  }
  if (type === 'redis') {
    const store = o.storage.store as RedisStore;
    const prefix = store.keys.key('resp', '');
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await store.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) ids.push(k.slice(prefix.length));
    } while (cursor !== '0');
    return ids;
  }
  const store = o.storage.store as SqlStore;
  return (await store.db.query(`SELECT id FROM ${store.t.responses} WHERE expires_at > ?`, [Date.now()])).rows.map((r) => String(r.id));
}

export async function copyStore(base: Config, from: Endpoint, to: Endpoint, say: (line: string) => void = () => {}): Promise<CopyReport> {
  const fromConfig = endpointConfig(base, from);
  const toConfig = endpointConfig(base, to);
  if (place(fromConfig) === place(toConfig)) throw new Error('the source and the target are the same storage');
  const src = await open(fromConfig);
  let dst: Opened;
  try {
    dst = await open(toConfig);
  } catch (err) {
    await src.close();
    throw err;
  }
  try {
    const report: CopyReport = {
      accounts: await copyAccounts(src, dst),
      keys: await copyKeys(src, dst),
      settings: await copySettings(src, dst),
      tasks: await copyTasks(src, dst),
      responses: await copyResponses(src, dst),
      adminKey: await copyAdminKey(src, dst),
    };
    say(
      `accounts: ${report.accounts.added} added, ${report.accounts.updated} brought in line; keys: ${report.keys.added} added, ${report.keys.updated} brought in line; ` +
        `settings: ${report.settings} sections; video tasks: ${report.tasks.added} added, ${report.tasks.existing} already there; stored responses: ${report.responses}; admin key: ${report.adminKey}`,
    );
    return report;
  } finally {
    await dst.close();
    await src.close();
  }
}

async function copyAccounts(src: Opened, dst: Opened): Promise<CopyReport['accounts']> {
  const accounts = await src.storage.store.listAccounts();
  const target = dst.storage.store;
  const { added } = await target.importAccounts(accounts.map((a) => ({ token: a.token, kind: a.kind, tier: a.tier, tags: a.tags })));
  const addedIds = new Set(added.map((a) => a.id));
  let updated = 0;
  for (const a of accounts) {
    const before = await target.getAccount(a.id);
    if (!before) continue;
    // Operator state: invalid is a fact about the token; cooling ends by itself, so it lands as active.
    if (a.status === 'invalid') await target.markInvalid(a.id, a.lastError ?? 'invalid');
    else await target.updateAccount(a.id, { status: a.status === 'disabled' ? 'disabled' : 'active', tags: a.tags, note: a.note, tier: a.tier });
    await target.setQuotas(a.id, a.quotas);
    const after = await target.getAccount(a.id);
    if (!addedIds.has(a.id) && JSON.stringify(comparable(before)) !== JSON.stringify(comparable(after!))) updated++;
  }
  return { added: added.length, updated };
}

const comparable = (a: { status: string; tags: string[]; note: string; tier: string; quotas: unknown; lastError: string | null }) => [a.status, a.tags, a.note, a.tier, a.quotas];

async function copyKeys(src: Opened, dst: Opened): Promise<CopyReport['keys']> {
  let added = 0;
  let updated = 0;
  for (const k of await src.storage.keys.list()) {
    const fields = { name: k.name, enabled: k.enabled, expiresAt: k.expiresAt, models: k.models, rpm: k.rpm, rpd: k.rpd, tags: k.tags, providers: k.providers };
    const existing = await dst.storage.keys.findByHash(k.hash);
    if (!existing) {
      await dst.storage.keys.create({ ...fields, hash: k.hash, hint: k.hint });
      added++;
      continue;
    }
    const same = (Object.keys(fields) as (keyof typeof fields)[]).every((f) => JSON.stringify(existing[f]) === JSON.stringify(fields[f]));
    if (!same) {
      // Only what differs: an unchanged rpm/rpd keeps the target's open rate windows.
      const patch = Object.fromEntries(Object.entries(fields).filter(([f, v]) => JSON.stringify(existing[f as keyof typeof fields]) !== JSON.stringify(v)));
      await dst.storage.keys.update(existing.id, patch);
      updated++;
    }
  }
  return { added, updated };
}

async function copySettings(src: Opened, dst: Opened): Promise<number> {
  const overrides = await loadSettings(src);
  if (Object.keys(overrides).length === 0) return 0;
  await dst.storage.settings.persist(overrides);
  return Object.keys(overrides).length;
}

async function copyTasks(src: Opened, dst: Opened): Promise<CopyReport['tasks']> {
  let added = 0;
  let existing = 0;
  for (const t of await src.tasks.list()) {
    if (await dst.tasks.get(t.id)) existing++;
    else {
      await dst.tasks.create(t);
      added++;
    }
  }
  return { added, existing };
}

async function copyResponses(src: Opened, dst: Opened): Promise<number> {
  let n = 0;
  for (const id of await responseIds(src)) {
    const rec = await src.storage.responses.get(id);
    if (!rec) continue;
    await dst.storage.responses.put(rec);
    n++;
  }
  return n;
}

async function copyAdminKey(src: Opened, dst: Opened): Promise<CopyReport['adminKey']> {
  const key = await src.storage.store.getMeta('app_key');
  if (!key) return 'none';
  const there = await dst.storage.store.getMeta('app_key');
  if (there === key) return 'same';
  // A target that already has its own admin key keeps it: someone may be using it.
  if (there) return 'kept-target';
  await dst.storage.store.setMeta('app_key', key);
  return 'copied';
}
