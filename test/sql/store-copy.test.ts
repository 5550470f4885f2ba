/**
 * `npm run store:copy`: a deployment's local files moved to PostgreSQL (through the real CLI,
 * twice: the second run adds nothing), then PostgreSQL → MariaDB → Redis, each time checking that
 * accounts with their state, keys, settings, tasks, stored responses and the admin key arrived.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { copyStore } from '../../src/store/copy.js';
import { LocalKeyStore } from '../../src/store/local/local-key-store.js';
import { LocalResponseStore } from '../../src/store/local/local-response-store.js';
import { LocalStore } from '../../src/store/local/local-store.js';
import { LocalTaskStore } from '../../src/store/local/local-task-store.js';
import { RedisKeyStore } from '../../src/store/redis/redis-key-store.js';
import { RedisResponseStore } from '../../src/store/redis/redis-response-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { SqlKeyStore } from '../../src/store/sql/sql-key-store.js';
import { SqlResponseStore } from '../../src/store/sql/sql-response-store.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { SqlTaskStore } from '../../src/store/sql/sql-task-store.js';
import type { Store } from '../../src/store/types.js';
import type { KeyStore } from '../../src/store/keys.js';
import type { ResponseStore } from '../../src/store/responses.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { assertDatabaseUp, dropTables, openTestStore, TEST_DATABASES, uniqueTablePrefix } from './helpers.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'g2a-copy-'));
const pgPrefix = uniqueTablePrefix('copypg');
const myPrefix = uniqueTablePrefix('copymy');
const redisPrefix = uniquePrefix('copy');
const RESPONSE = { id: 'resp_copytest0001', expiresAt: Date.now() + 3_600_000, messages: [{ role: 'user' as const, parts: ['hi'] }], response: { id: 'resp_copytest0001', status: 'completed' } };
let keyHash = '';

beforeAll(async () => {
  await Promise.all([assertDatabaseUp('pgsql'), assertDatabaseUp('mysql'), assertRedisUp()]);
  const store = new LocalStore({ dataDir: dir, flushDelayMs: 0 });
  await store.init();
  const { added } = await store.importAccounts([{ token: 'copy-a', tier: 'super', tags: ['eu'] }, { token: 'copy-b' }, { token: 'copy-c' }]);
  const [a, b, c] = added.map((x) => x.id);
  await store.setQuotas(a!, { fast: { remaining: 3, total: 30, windowSeconds: 7200, resetAt: null } });
  await store.updateAccount(b!, { status: 'disabled', note: 'paused' });
  await store.markInvalid(c!, 'upstream_auth_failed');
  await store.setMeta('app_key', 'g2a-admin-copied');
  await store.close();
  const keys = new LocalKeyStore({ dataDir: dir });
  await keys.init();
  keyHash = (await keys.create({ name: 'laptop', hash: 'ab'.repeat(32), hint: 'sk-g2a-Ab…yZ', enabled: true, expiresAt: null, models: ['grok-3'], rpm: 5, rpd: null, tags: [], providers: ['grok'] })).hash;
  await keys.close();
  const tasks = new LocalTaskStore(dir, 0);
  await tasks.init();
  const t = Date.now();
  await tasks.create({ id: 'task-copy-1', status: 'completed', progress: 100, params: { model: 'grok-imagine-1.0-video', prompt: 'p', aspectRatio: '16:9', videoLength: 6, resolution: '480p', preset: 'normal', imageUrl: null }, message: 'done', videoId: null, owner: 'x', createdAt: t, startedAt: t, completedAt: t, updatedAt: t });
  await tasks.close();
  const responses = new LocalResponseStore({ dataDir: dir });
  await responses.init();
  await responses.put(RESPONSE);
  await responses.close();
  // Start-up settings (server) stay behind; runtime ones (retry) travel.
  writeFileSync(join(dir, 'config.toml'), '[server]\nport = 8123\n[retry]\nmax_attempts = 5\n');
}, 60_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await dropTables('pgsql', pgPrefix);
  await dropTables('mysql', myPrefix);
  await dropPrefix(TEST_REDIS_URL, redisPrefix);
});

/** What every target must hold after a copy from the local files above. */
async function expectCopied(store: Store, keys: KeyStore, responses: ResponseStore, settings: Record<string, unknown> | null) {
  const accounts = await store.listAccounts();
  expect(accounts.map((a) => [a.token, a.status, a.tier])).toEqual([
    ['copy-a', 'active', 'super'],
    ['copy-b', 'disabled', 'basic'],
    ['copy-c', 'invalid', 'basic'],
  ]);
  expect(accounts[0]).toMatchObject({ tags: ['eu'], quotas: { fast: { remaining: 3, total: 30 } }, inFlight: 0 });
  expect(accounts[1]!.note).toBe('paused');
  expect(accounts[2]!.lastError).toBe('upstream_auth_failed');
  expect(await keys.findByHash(keyHash)).toMatchObject({ name: 'laptop', models: ['grok-3'], rpm: 5, enabled: true, providers: ['grok'] });
  expect(await keys.count()).toBe(1);
  expect(await responses.get(RESPONSE.id)).toEqual(RESPONSE);
  expect(await store.getMeta('app_key')).toBe('g2a-admin-copied');
  expect(settings).toEqual({ retry: { max_attempts: 5 } });
}

describe('store:copy', () => {
  it('copies local → pgsql through the CLI, and a second run adds nothing', async () => {
    const env = { PATH: process.env.PATH ?? '', DATA_DIR: dir, DATABASE_URL: TEST_DATABASES.pgsql, DATABASE_TABLE_PREFIX: pgPrefix };
    const cli = () => run(process.execPath, ['--import', 'tsx', 'src/store/copy-cli.ts', '--from', 'local', '--to', 'pgsql'], { cwd: ROOT, env });
    expect((await cli()).stdout).toContain('accounts: 3 added, 0 brought in line; keys: 1 added, 0 brought in line; settings: 1 sections; video tasks: 1 added, 0 already there; stored responses: 1; admin key: copied');
    expect((await cli()).stdout).toContain('accounts: 0 added, 0 brought in line; keys: 0 added, 0 brought in line; settings: 1 sections; video tasks: 0 added, 1 already there; stored responses: 1; admin key: same');

    const pg: SqlStore = await openTestStore('pgsql', pgPrefix);
    try {
      await expectCopied(pg, new SqlKeyStore(pg), new SqlResponseStore(pg, Date.now, 0), JSON.parse((await pg.loadSettings()) ?? 'null'));
      expect((await new SqlTaskStore(pg).get('task-copy-1'))!.status).toBe('completed');
    } finally {
      await pg.close();
    }
  }, 60_000);

  it('copies pgsql → mysql → redis', async () => {
    const base = loadConfig({ env: { DATA_DIR: dir } });
    await copyStore(base, { type: 'pgsql', url: TEST_DATABASES.pgsql, prefix: pgPrefix }, { type: 'mysql', url: TEST_DATABASES.mysql, prefix: myPrefix });
    const my = await openTestStore('mysql', myPrefix);
    try {
      await expectCopied(my, new SqlKeyStore(my), new SqlResponseStore(my, Date.now, 0), JSON.parse((await my.loadSettings()) ?? 'null'));
    } finally {
      await my.close();
    }
    await copyStore(base, { type: 'mysql', url: TEST_DATABASES.mysql, prefix: myPrefix }, { type: 'redis', url: TEST_REDIS_URL, prefix: redisPrefix });
    const redis = new RedisStore({ url: TEST_REDIS_URL, prefix: redisPrefix });
    await redis.init();
    try {
      await expectCopied(redis, new RedisKeyStore(redis.client, redis.keys, redis.label), new RedisResponseStore(redis), JSON.parse((await redis.loadSettings()) ?? 'null'));
    } finally {
      await redis.close();
    }
    await expect(copyStore(base, { type: 'local' }, { type: 'local' })).rejects.toThrow('the source and the target are the same storage');
  }, 60_000);
});
