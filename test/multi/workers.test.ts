import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { chat, cleanupAll, startServer } from './procs.js';

let fake: FakeGrok;
const prefix = uniquePrefix('workers');
beforeAll(async () => {
  await assertRedisUp();
  fake = await startFakeGrok();
});
afterAll(async () => {
  await cleanupAll();
  await fake.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

describe('SERVER_WORKERS', () => {
  it('runs several workers on one port and one pool, and stops them all on SIGTERM', async () => {
    const server = await startServer(
      { SERVER_WORKERS: '2', SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, GROK_BASE_URL: fake.url },
      '[token]\nsync_on_import = false\nauto_refresh = false\n',
    );
    const imp = await (await server.admin('POST', '/admin/api/tokens', { tokens: ['workers-1'] })).json();
    expect(imp.added).toBe(1);
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(server.url, `workers ${i}`, false)));
    expect(results.map((r) => r.status)).toEqual(Array(4).fill(200));
    // Every worker sees the same pool (the import went to one of them).
    for (let i = 0; i < 4; i++) expect((await (await server.admin('GET', '/admin/api/tokens')).json()).tokens).toHaveLength(1);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses more than one worker without redis storage, with one clear line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env.PATH ?? '', DATA_DIR: join(tmpdir(), 'g2a-never-workers'), SERVER_WORKERS: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
    expect(err).toContain('server.workers');
    expect(err).toContain('redis');
  });
});
