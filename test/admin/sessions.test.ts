/**
 * Admin sessions are server-side and revocable (issue 15, items 1 and 2): logout ends the
 * session, logout-everywhere ends all of them, a new admin key ends every old one; the cookie is
 * Secure when a trusted proxy says the request came over HTTPS; the login throttle counts the
 * real client, whatever X-Forwarded-For says, unless the peer is a trusted proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { ADMIN_KEY, startStack, type Stack } from '../helpers/stack.js';
import { keysWith, login } from './session-helpers.js';


describe('admin sessions (local store)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('logout ends the session: the old cookie opens nothing afterwards', async () => {
    const { cookie, status, setCookie } = await login(stack.url, ADMIN_KEY);
    expect(status).toBe(200);
    expect(setCookie).not.toMatch(/Secure/);
    expect(await keysWith(stack.url, cookie)).toBe(200);
    const out = await fetch(`${stack.url}/admin/api/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const after = await fetch(`${stack.url}/admin/api/keys`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expectValid('ErrorResponse', await after.json());
  });

  it('logout-everywhere ends every session, and needs a session or the admin key itself', async () => {
    const a = await login(stack.url, ADMIN_KEY);
    const b = await login(stack.url, ADMIN_KEY);
    expect(a.cookie).not.toBe(b.cookie);
    expect(await keysWith(stack.url, a.cookie)).toBe(200);
    expect(await keysWith(stack.url, b.cookie)).toBe(200);
    expect((await fetch(`${stack.url}/admin/api/logout-everywhere`, { method: 'POST' })).status).toBe(401);
    const res = await fetch(`${stack.url}/admin/api/logout-everywhere`, { method: 'POST', headers: { cookie: a.cookie } });
    expect(res.status).toBe(200);
    expect((await res.json()).ended).toBeGreaterThanOrEqual(2);
    expect(await keysWith(stack.url, a.cookie)).toBe(401);
    expect(await keysWith(stack.url, b.cookie)).toBe(401);
  });

  it('keeps sessions across a restart with the same admin key, and ends them all when the key changes', async () => {
    const { cookie } = await login(stack.url, ADMIN_KEY);
    const dataDir = stack.dataDir;
    const fake = stack.fake;
    await stack.app.close();
    await stack.runtime.close();
    const same = await startStack({ dataDir, fake });
    expect(await keysWith(same.url, cookie)).toBe(200);
    await same.app.close();
    await same.runtime.close();
    const rekeyed = await startStack({ dataDir, fake, overrides: { app: { app_key: 'a-brand-new-admin-key' } } });
    expect(await keysWith(rekeyed.url, cookie)).toBe(401);
    stack = rekeyed;
  });
});

describe('client address and scheme behind proxies', () => {
  it('ignores X-Forwarded-For from an untrusted peer: a new header value is not a new client', async () => {
    const stack = await startStack();
    try {
      expect((await login(stack.url, 'wrong', { 'x-forwarded-for': '198.51.100.1' })).status).toBe(401);
      const t0 = performance.now();
      const second = await login(stack.url, 'wrong', { 'x-forwarded-for': '198.51.100.2' });
      expect(second.status).toBe(401);
      // Booked 250 ms after the first try (whose answer took a few ms of that).
      expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
      // Nor is X-Forwarded-Proto believed.
      const ok = await login(stack.url, ADMIN_KEY, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.3' });
      expect(ok.status).toBe(200);
      expect(ok.setCookie).not.toMatch(/Secure/);
    } finally {
      await stack.close();
    }
  });

  it('answers tries sent in parallel with 429 instead of checking them all', async () => {
    const stack = await startStack();
    try {
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 12 }, () => login(stack.url, 'wrong')));
      const statuses = results.map((r) => r.status).sort();
      // Six tries fit in 8 s of booked slots (0, 0.25, 0.75, 1.75, 3.75, 7.75 s); the rest are refused at once.
      expect(statuses.filter((s) => s === 401)).toHaveLength(6);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      const refused = results.find((r) => r.status === 429)!;
      expect(refused.body.error.code).toBe('rate_limit_exceeded');
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(performance.now() - t0).toBeLessThan(9000);
    } finally {
      await stack.close();
    }
  }, 20_000);

  it('behind a trusted proxy: counts the forwarded client, and marks the cookie Secure when the proxy says https', async () => {
    const stack = await startStack({ overrides: { server: { trust_proxy: ['127.0.0.1', '::1'] } } });
    try {
      expect((await login(stack.url, 'wrong', { 'x-forwarded-for': '198.51.100.1' })).status).toBe(401);
      // The first client's next try waits for its slot; another client behind the same proxy has no streak.
      const t0 = performance.now();
      const [again, other] = await Promise.all(
        ['198.51.100.1', '198.51.100.2'].map(async (ip) => {
          const r = await login(stack.url, 'wrong', { 'x-forwarded-for': ip });
          return { status: r.status, ms: performance.now() - t0 };
        }),
      );
      expect(again!.status).toBe(401);
      expect(other!.status).toBe(401);
      expect(again!.ms).toBeGreaterThanOrEqual(200);
      expect(other!.ms).toBeLessThan(150);
      const https = await login(stack.url, ADMIN_KEY, { 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'https' });
      expect(https.setCookie).toMatch(/; Secure/);
      const out = await fetch(`${stack.url}/admin/api/logout`, { method: 'POST', headers: { cookie: https.cookie, 'x-forwarded-proto': 'https' } });
      expect(out.headers.get('set-cookie')).toMatch(/; Secure/);
      const plain = await login(stack.url, ADMIN_KEY, { 'x-forwarded-for': '198.51.100.9' });
      expect(plain.setCookie).not.toMatch(/Secure/);
    } finally {
      await stack.close();
    }
  });
});
