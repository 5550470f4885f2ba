import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRoutes } from '../../src/http/route-list.js';
import { expectValid } from '../helpers/openapi.js';
import { ADMIN_KEY, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

/** Routes that must answer without a session: the login itself and logout. */
const PUBLIC = new Set(['POST /admin/api/login', 'POST /admin/api/logout']);

describe('admin API authentication', () => {
  it('answers 401 on every registered admin route without a session or the admin key', async () => {
    const routes = listRoutes(stack.app).filter((r) => r.url.startsWith('/admin/api') && !PUBLIC.has(`${r.method} ${r.url}`));
    // Sanity: the walk sees the routes this build registers (tokens, keys, stats at least).
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const r of routes) {
      const url = stack.url + r.url.replace(/:[A-Za-z_]+/g, 'x').replace(/\*$/, 'x');
      const withBody = !['GET', 'DELETE'].includes(r.method);
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { cookie: 'g2a_admin=99999999999999.forged' }] as Record<string, string>[]) {
        const res = await fetch(url, {
          method: r.method,
          headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
          body: withBody ? '{}' : undefined,
        });
        expect(res.status, `${r.method} ${r.url} with ${JSON.stringify(headers)}`).toBe(401);
        const body = await res.json();
        expectValid('ErrorResponse', body);
      }
    }
  });

  it('logs in with the admin key: HttpOnly SameSite=Strict cookie with expiry, then logout', async () => {
    const login = (password: string) =>
      fetch(`${stack.url}/admin/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
    expect((await login('nope')).status).toBe(401);
    // Repeated wrong passwords are slowed down (checked 250 ms after the first try, doubling).
    const t0 = performance.now();
    expect((await login('nope again')).status).toBe(401);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    const res = await fetch(`${stack.url}/admin/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: ADMIN_KEY }) });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Max-Age=\d+/);
    const cookie = setCookie.split(';')[0]!;
    expect((await fetch(`${stack.url}/admin/api/keys`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${stack.url}/admin/api/logout`, { method: 'POST', headers: { cookie } });
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
  });

  it('serves the console page itself without a session, with a same-origin-only CSP', async () => {
    const res = await fetch(`${stack.url}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${stack.url}/admin/ui/..%2Fpackage.json`)).status).toBe(404);
  });
});
