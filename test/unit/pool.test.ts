import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ModelSpec } from '../../src/core/models.js';
import { AppError, UpstreamError } from '../../src/errors.js';
import { AccountPool } from '../../src/pool/pool.js';
import { classifyHttp, isGrokAntiBot } from '../../src/upstream/grok/classify.js';
import { LocalStore } from '../../src/store/local/local-store.js';

const model: ModelSpec = { id: 'm', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'x', created: 0 };
let store: LocalStore;
let config: Config;
let pool: AccountPool;

const authFail = () => new UpstreamError(502, 'upstream_auth_failed', 'rejected', 'retry-other', 'invalid', undefined, 401);
const rateLimited = (ms: number) => new UpstreamError(429, 'upstream_rate_limited', 'limited', 'retry-other', 'cooldown', ms, 429);

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-pool-'));
  config = loadConfig({ env: { DATA_DIR: dir } });
  store = new LocalStore({ dataDir: dir });
  await store.init();
  pool = new AccountPool(store, () => config, pino({ level: 'silent' }));
});

describe('AccountPool.acquire', () => {
  it("retries grok.com's anti-bot refusal (code 7) once on the same account after refreshing its identity", async () => {
    await store.importAccounts([{ token: 'a' }, { token: 'b' }]);
    const refreshed: string[] = [];
    pool.antiBot = { matches: (provider, err) => provider === 'grok' && isGrokAntiBot(err), refresh: async (_provider, token) => void refreshed.push(token) };
    const seen: string[] = [];
    const antiBot = () => classifyHttp(403, '{"error":{"code":7,"message":"Request rejected by anti-bot rules.","details":[]}}');
    const got = await pool.acquire(model, new AbortController().signal, async (lease) => {
      seen.push(lease.token);
      if (seen.length === 1) throw antiBot();
      return 'ok';
    });
    expect(got.value).toBe('ok');
    expect(seen).toEqual([seen[0], seen[0]]);
    expect(refreshed).toEqual([seen[0]]);
    expect(pool.antiBotRetries).toBe(1);
    await got.release({ kind: 'success' });
    // Refused again on the same account: the pool moves on to another one.
    seen.length = 0;
    const next = await pool.acquire(model, new AbortController().signal, async (lease) => {
      seen.push(lease.token);
      if (seen.length <= 2) throw antiBot();
      return 'ok';
    });
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).not.toBe(seen[0]);
    await next.release({ kind: 'success' });
    // A Cloudflare challenge is the egress's verdict; the transport deals with it, the pool does not retry in place.
    seen.length = 0;
    const cf = await pool.acquire(model, new AbortController().signal, async (lease) => {
      seen.push(lease.token);
      if (seen.length === 1) throw classifyHttp(403, '<html>Just a moment...</html>', { 'content-type': 'text/html', 'cf-mitigated': 'challenge' });
      return 'ok';
    });
    expect(seen[1]).not.toBe(seen[0]);
    await cf.release({ kind: 'success' });
  });

  it('moves to another account on retry-other failures and marks each account by its failure', async () => {
    await store.importAccounts([{ token: 'a' }, { token: 'b' }, { token: 'c' }]);
    const seen: string[] = [];
    const got = await pool.acquire(model, new AbortController().signal, async (lease) => {
      seen.push(lease.token);
      if (seen.length === 1) throw authFail();
      if (seen.length === 2) throw rateLimited(60_000);
      return 'ok';
    });
    expect(got.value).toBe('ok');
    expect(new Set(seen).size).toBe(3);
    await got.release({ kind: 'success' });
    const byToken = new Map((await store.listAccounts()).map((a) => [a.token, a]));
    expect(byToken.get(seen[0]!)!.status).toBe('invalid');
    expect(byToken.get(seen[1]!)!.status).toBe('cooling');
    expect([...byToken.values()].every((a) => a.inFlight === 0)).toBe(true);
  });

  it('stops at max_attempts with the last upstream error', async () => {
    config.retry.max_attempts = 2;
    await store.importAccounts([{ token: 'a' }, { token: 'b' }, { token: 'c' }]);
    let calls = 0;
    const err = await pool
      .acquire(model, new AbortController().signal, async () => {
        calls++;
        throw new UpstreamError(502, 'upstream_bad_response', 'broken', 'retry-other', 'none', undefined, 500);
      })
      .catch((e) => e);
    expect(calls).toBe(2);
    expect(err.code).toBe('upstream_bad_response');
  });

  it('does not retry a request-scoped failure', async () => {
    await store.importAccounts([{ token: 'a' }, { token: 'b' }]);
    let calls = 0;
    const err = await pool
      .acquire(model, new AbortController().signal, async () => {
        calls++;
        throw new UpstreamError(400, 'content_policy_violation', 'blocked', 'fail', 'none');
      })
      .catch((e) => e);
    expect(calls).toBe(1);
    expect(err.status).toBe(400);
  });

  it('answers no_accounts, and no_available_tokens with the earliest reset', async () => {
    const none = await pool.acquire(model, new AbortController().signal, async () => 1).catch((e) => e);
    expect(none).toBeInstanceOf(AppError);
    expect(none.code).toBe('no_accounts');
    await store.importAccounts([{ token: 'a' }]);
    const busy = await pool.acquire(model, new AbortController().signal, async () => { throw rateLimited(30_000); }).catch((e) => e);
    expect(busy.code).toBe('no_available_tokens');
    expect(busy.retryAfterSec).toBeGreaterThanOrEqual(29);
    expect(busy.retryAfterSec).toBeLessThanOrEqual(30);
  });

  it('releases the slot as aborted, without blame, when the client goes away', async () => {
    await store.importAccounts([{ token: 'a' }, { token: 'b' }]);
    const controller = new AbortController();
    let calls = 0;
    const err = await pool
      .acquire(model, controller.signal, async () => {
        calls++;
        controller.abort();
        throw new Error('aborted');
      })
      .catch((e) => e);
    expect(err.message).toBe('aborted');
    expect(calls).toBe(1);
    const accounts = await store.listAccounts();
    expect(accounts.every((a) => a.inFlight === 0 && a.failCount === 0 && a.status === 'active')).toBe(true);
  });
});

describe('AccountPool.acquire when every attempt is rate-limited', () => {
  it('answers no_available_tokens with the upstream Retry-After', async () => {
    config.retry.max_attempts = 2;
    await store.importAccounts([{ token: 'a' }, { token: 'b' }, { token: 'c' }]);
    const err = await pool.acquire(model, new AbortController().signal, async () => { throw rateLimited(45_000); }).catch((e) => e);
    expect(err.code).toBe('no_available_tokens');
    expect(err.status).toBe(429);
    expect(err.retryAfterSec).toBe(45);
  });
});
