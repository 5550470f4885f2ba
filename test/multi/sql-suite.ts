/**
 * The three-instance tests of instances.test.ts (Redis) on a SQL store: three server processes
 * on one database share one pool — the per-account cap holds across them, account state changes
 * are seen everywhere, settings propagate within a second and video tasks are visible on every
 * instance. Run by pgsql-instances.test.ts and mysql-instances.test.ts, each on its own tables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../src/store/sql/url.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { isChatTurn } from '../helpers/transports.js';
import { assertDatabaseUp, dropTables, TEST_DATABASES, uniqueTablePrefix } from '../sql/helpers.js';
import { chat, cleanupAll, startServer, until, type Proc } from './procs.js';

const toml = (fakeUrl: string) => `
[token]
max_concurrency_per_account = 2
sync_on_import = false
auto_refresh = false
[grok]
accounts_url = "${fakeUrl}"
assets_url = "${fakeUrl}"
[log]
requests = false
[database]
# Generous: 200 concurrent streams on a shared 2-core machine; the 1 s outage bound is tested in test/sql/outage.test.ts.
timeout_ms = 15000
`;

const accounts = async (p: Proc) => ((await (await p.admin('GET', '/admin/api/tokens')).json()) as { tokens: any[] }).tokens;

export function sqlInstancesSuite(dialect: Dialect): void {
  let fake: FakeGrok;
  const prefix = uniqueTablePrefix(`multi${dialect}`);
  const servers: Proc[] = [];

  beforeAll(async () => {
    await assertDatabaseUp(dialect);
    fake = await startFakeGrok();
    const env = { SERVER_STORAGE_TYPE: dialect, DATABASE_URL: TEST_DATABASES[dialect], DATABASE_TABLE_PREFIX: prefix, GROK_BASE_URL: fake.url };
    // Started together: they also race for the migrations, which the database lock serialises.
    servers.push(...(await Promise.all([1, 2, 3].map(() => startServer(env, toml(fake.url))))));
  }, 60_000);

  afterAll(async () => {
    await cleanupAll();
    await fake?.close();
    await dropTables(dialect, prefix);
  });

  describe(`three instances on one ${dialect} database`, () => {
    it('keeps every account at ≤ 2 concurrent upstream requests under 200 concurrent streams', async () => {
      const tokens = Array.from({ length: 10 }, (_, i) => `multi-load-${i}`);
      const imp = await (await servers[0]!.admin('POST', '/admin/api/tokens', { tokens })).json();
      expect(imp.added).toBe(10);
      // Longer streams than on Redis: a SQL lease takes a few ms, and the slots must fill up for the cap to be tested.
      fake.script('multi-load', { kind: 'plain', answer: 'one two three four five six', interTokenDelayMs: 120 });

      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(servers[i % 3]!.url, `multi-load ${i}`)));
      const ok = results.filter((r) => r.status === 200);
      const limited = results.filter((r) => r.status === 429);
      expect(ok.length + limited.length).toBe(200);
      expect(ok.length).toBeGreaterThanOrEqual(20);
      for (const r of ok) expect(r.body).toContain('data: [DONE]');
      for (const r of limited) expect(JSON.parse(r.body).error.code).toBe('no_available_tokens');
      for (const t of tokens) expect(fake.maxConcurrentChats(t)).toBeLessThanOrEqual(2);
      expect(tokens.some((t) => fake.maxConcurrentChats(t) === 2)).toBe(true);
      for (const s of servers) await until(async () => (await accounts(s)).every((a) => a.in_flight === 0), 5000, 'in-flight 0');
    });

    it('marks an account invalid after its first failure on any instance, and never leases it again', async () => {
      fake.setAccount('multi-dead', { state: 'invalid' });
      await servers[0]!.admin('POST', '/admin/api/tokens', { tokens: ['multi-dead'] });
      expect((await chat(servers[2]!.url, 'multi-dead-1', false)).status).toBe(200);
      const deadCalls = () => fake.requests.filter((r) => r.token === 'multi-dead' && isChatTurn(r)).length;
      expect(deadCalls()).toBe(1);
      for (const s of servers) expect((await accounts(s)).filter((a) => a.status === 'invalid')).toHaveLength(1);
      for (let i = 0; i < 6; i++) expect((await chat(servers[i % 3]!.url, `multi-dead-after ${i}`, false)).status).toBe(200);
      expect(deadCalls()).toBe(1);
    });

    it('returns a cooling account to service after its Retry-After', async () => {
      fake.setAccount('multi-cool', { state: 'limited', retryAfterSec: 1 });
      await servers[0]!.admin('POST', '/admin/api/tokens', { tokens: ['multi-cool'] });
      expect((await chat(servers[1]!.url, 'multi-cool-1', false)).status).toBe(200);
      const cooling = (await accounts(servers[2]!)).find((a) => a.status === 'cooling');
      expect(cooling).toBeTruthy();
      fake.setAccount('multi-cool', { state: 'valid' });
      await until(async () => (await accounts(servers[0]!)).find((a) => a.id === cooling.id)?.status === 'active', 5000, 'cooldown end');
      expect((await chat(servers[0]!.url, 'multi-cool-2', false)).status).toBe(200);
      expect(fake.requests.filter((r) => isChatTurn(r)).at(-1)!.token).toBe('multi-cool');
    });

    it('applies a setting changed on instance 1 on instance 3 within a second', async () => {
      const t0 = Date.now();
      const put = await servers[0]!.admin('PUT', '/admin/api/settings', { token: { max_concurrency_per_account: 3 }, retry: { max_attempts: 4 } });
      expect(put.status).toBe(200);
      // Every other instance, each on its own (MySQL/MariaDB instances poll, so they may hear it a little apart).
      const seen = async (p: Proc) => {
        const s = await (await p.admin('GET', '/admin/api/settings')).json();
        return s.token.max_concurrency_per_account === 3 && s.retry.max_attempts === 4;
      };
      await Promise.all([servers[1]!, servers[2]!].map((p, i) => until(() => seen(p), 1000, `settings on instance ${i + 2}`)));
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('shows a video task created on one instance on every instance, through to completion', async () => {
      await servers[0]!.admin('POST', '/admin/api/tokens', { tokens: ['multi-video'] });
      const res = await fetch(`${servers[1]!.url}/v1/video/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'grok-imagine-1.0-video', prompt: 'a dolphin', aspect_ratio: '16:9', video_length: 6, resolution: '480p' }),
      });
      expect(res.status).toBe(200);
      const id = ((await res.json()) as { task_id: string }).task_id;
      for (const s of [servers[0]!, servers[2]!]) {
        const task = await until(async () => {
          const t = (await (await fetch(`${s.url}/v1/video/tasks/${id}`)).json()) as { status: string };
          return t.status === 'completed' ? t : null;
        }, 20_000, `task completed on ${s.url}`);
        expect(task).toMatchObject({ task_id: id, status: 'completed', progress: 100 });
      }
      const listed = (await (await servers[2]!.admin('GET', '/admin/api/video/tasks')).json()) as { tasks?: { id?: string; task_id?: string }[] };
      expect(JSON.stringify(listed)).toContain(id);
    });

    it('adds up the request statistics of every instance', async () => {
      const totals = async (s: Proc) => ((await (await s.admin('GET', '/admin/api/stats')).json()) as { summary: { total: number } }).summary.total;
      const before = await totals(servers[0]!);
      for (let i = 0; i < 3; i++) expect((await chat(servers[i]!.url, `multi-stats ${i}`, false)).status).toBe(200);
      // Each instance flushes its counts about once a second.
      await until(async () => (await totals(servers[0]!)) >= before + 3, 5000, 'stats from all instances');
    });
  });
}
