import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { ADMIN, chat, cleanupAll, requestLogPids, startServer, until, waitForWorkers } from './procs.js';

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
    // LOG_LEVEL info: the "Server listening" and request lines carry each worker's pid.
    const server = await startServer(
      { SERVER_WORKERS: '2', SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, GROK_BASE_URL: fake.url, LOG_LEVEL: 'info' },
      '[token]\nsync_on_import = false\nauto_refresh = false\n',
    );
    // /health answered once the first worker listened: wait for both.
    const workers = await waitForWorkers(server, 2);
    const imp = await (await server.admin('POST', '/admin/api/tokens', { tokens: ['workers-1'] })).json();
    expect(imp.added).toBe(1);
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => chat(server.url, `workers ${i}`, false)));
    expect(results.map((r) => r.status)).toEqual(Array(4).fill(200));
    // Every worker sees the same pool (the import went to one of them): fresh connections, dealt
    // out round-robin, and the request log shows both workers answered.
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${server.url}/admin/api/tokens`, { headers: { authorization: `Bearer ${ADMIN}`, connection: 'close' } });
      expect((await res.json()).tokens).toHaveLength(1);
    }
    await until(async () => requestLogPids(server.output(), '/admin/api/tokens', 'GET').length >= 4, 10_000, 'the request log lines');
    const listedBy = requestLogPids(server.output(), '/admin/api/tokens', 'GET');
    expect(listedBy).toHaveLength(4);
    expect(new Set(listedBy)).toEqual(workers);
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
