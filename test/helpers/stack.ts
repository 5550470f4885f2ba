import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/bootstrap.js';
import { drainOnClose } from '../../src/http/drain.js';
import { loadConfig } from '../../src/config/load.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';

export const API_KEY = 'sk-test-client-key';
export const ADMIN_KEY = 'admin-test-key';

export interface Stack {
  fake: FakeGrok;
  app: FastifyInstance;
  runtime: Runtime;
  /** Base URL of the proxy, e.g. http://127.0.0.1:1234 */
  url: string;
  dataDir: string;
  /** Every log line the server wrote (JSON strings). */
  logs: string[];
  /** Imports tokens through the admin API; returns their account ids. */
  importTokens(tokens: string[], extra?: Record<string, unknown>): Promise<string[]>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Config overrides (TOML sections). */
  overrides?: Record<string, unknown>;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
  /** Reuse a running fake. */
  fake?: FakeGrok;
}

/** The real app on a real port, its store in a temp dir, its upstream pointed at the fake grok.com. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const fake = opts.fake ?? (await startFakeGrok());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'g2a-test-'));
  const overrides: Record<string, Record<string, unknown>> = {
    grok: { base_url: fake.url, assets_url: fake.url, accounts_url: fake.url },
    app: { api_key: API_KEY, app_key: ADMIN_KEY },
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
    // Background quota syncs would add rate-limits calls (and tier changes) to every test; tests of the sync turn them on.
    token: { sync_on_import: false, auto_refresh: false },
  };
  for (const [section, values] of Object.entries(opts.overrides ?? {})) {
    overrides[section] = { ...(overrides[section] ?? {}), ...(values as Record<string, unknown>) };
  }
  const config = loadConfig({ env: { DATA_DIR: dataDir }, overrides });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(line);
      cb();
    },
  });
  const runtime = await createRuntime(config, { logDestination: sink });
  const app = await buildApp(runtime.services);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const drain = drainOnClose(app.server);
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    fake,
    app,
    runtime,
    url,
    dataDir,
    logs,
    admin,
    async importTokens(tokens, extra = {}) {
      const res = await admin('POST', '/admin/api/tokens', { tokens, ...extra });
      if (res.status !== 200) throw new Error(`import failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { ids: string[] }).ids;
    },
    async close() {
      await drain.close(2000);
      await app.close();
      await runtime.close();
      if (!opts.fake) await fake.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Two instances on the shared test Redis under `prefix`, sharing one fake grok.com. */
export async function startRedisPair(redisUrl: string, prefix: string): Promise<[Stack, Stack]> {
  const overrides = { server: { storage_type: 'redis' }, redis: { url: redisUrl, prefix } };
  const one = await startStack({ overrides });
  const two = await startStack({ overrides, fake: one.fake }).catch(async (e) => {
    await one.close();
    throw e;
  });
  return [one, two];
}

/** Reads an SSE body into its `data:` payloads (comments dropped). */
export async function readSse(res: Response): Promise<{ data: string[]; raw: string }> {
  const raw = await res.text();
  const data: string[] = [];
  for (const block of raw.split('\n\n')) {
    for (const line of block.split('\n')) if (line.startsWith('data: ')) data.push(line.slice(6));
  }
  return { data, raw };
}
