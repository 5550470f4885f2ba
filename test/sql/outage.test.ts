/**
 * A SQL database that hangs or goes away: requests get 503 store_unavailable within a second,
 * /ready says so, /health does not care, and service comes back by itself with no concurrency
 * slot left taken. The database is reached through a local TCP relay that the test can make hang
 * (accepts, never answers) or refuse; the real PostgreSQL and MariaDB behind it are never touched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { assertDatabaseUp, DIALECTS, dropTables, rawQuery, TEST_DATABASES, uniqueTablePrefix } from './helpers.js';
import { until } from '../multi/procs.js';

const chat = async (stack: Stack, prompt: string, stream = false) => {
  const t0 = Date.now();
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', stream, messages: [{ role: 'user', content: prompt }] }),
  });
  return { status: res.status, body: await res.text(), ms: Date.now() - t0 };
};

for (const dialect of DIALECTS) {
  describe(`${dialect} outage`, () => {
    const prefix = uniqueTablePrefix(`out${dialect}`);
    let proxy: TcpProxy;
    let stack: Stack;

    beforeAll(async () => {
      await assertDatabaseUp(dialect);
      const real = new URL(TEST_DATABASES[dialect]);
      proxy = await startTcpProxy(Number(real.port));
      real.port = String(proxy.port);
      stack = await startStack({
        overrides: { server: { storage_type: dialect }, database: { url: real.toString(), table_prefix: prefix, timeout_ms: 800 }, token: { max_concurrency_per_account: 2 } },
      });
      await stack.importTokens(['outage-1', 'outage-2']);
    });
    afterAll(async () => {
      await stack?.close();
      await proxy?.close();
      await dropTables(dialect, prefix);
    });

    it('answers 503 store_unavailable within a second while the database hangs or is down, then recovers', async () => {
      // The first requests of a fresh process are slow (lazy loading) on a loaded machine; wait for a normal answer.
      await until(async () => (await chat(stack, 'before')).status === 200, 10_000, 'first answer');
      stack.fake.script('outage-slow', { kind: 'plain', answer: 'a b c d e f g h', interTokenDelayMs: 60 });
      // Streams that hold leases when the database goes away: their reports must not be lost.
      const streams = Promise.all([1, 2, 3].map((i) => chat(stack, `outage-slow ${i}`, true)));
      await until(async () => stack.fake.activeChats() > 0, 5000, 'streams running');

      proxy.hang();
      const hung = await chat(stack, 'while hung');
      expect(hung.status).toBe(503);
      expect(JSON.parse(hung.body).error).toMatchObject({ code: 'store_unavailable', type: 'server_error' });
      expect(JSON.parse(hung.body).error.message).toContain(dialect === 'pgsql' ? 'PostgreSQL at 127.0.0.1' : 'MySQL/MariaDB at 127.0.0.1');
      expect(hung.ms).toBeLessThan(1000);
      const t0 = Date.now();
      expect((await fetch(`${stack.url}/ready`)).status).toBe(503);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect((await fetch(`${stack.url}/health`)).status).toBe(200);

      proxy.down();
      const down = await chat(stack, 'while down');
      expect(down.status).toBe(503);
      expect(down.ms).toBeLessThan(1000);
      for (const r of await streams) expect([200, 503]).toContain(r.status);

      proxy.up();
      await until(async () => (await chat(stack, 'after')).status === 200, 15_000, 'service back');
      expect((await fetch(`${stack.url}/ready`)).status).toBe(200);
      // Reports held back during the outage were replayed: no slot stays taken, no lease row left.
      await until(async () => (await stack.runtime.services.store.listAccounts()).every((a) => a.inFlight === 0), 10_000, 'in-flight 0');
      expect(await rawQuery(dialect, `SELECT id FROM ${prefix}leases`)).toEqual([]);
    }, 60_000);
  });
}
