import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/doctor/report.js';
import type { EgressStatus } from '../../src/upstream/grok/transport/index.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * The doctor and the egress status in the admin API, on the real app against the fake grok.com:
 * the same report as the CLI per stored account, read-only towards the pool; egress URLs edited
 * through the runtime settings, shown with their passwords masked.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack.close();
});

describe('POST /admin/api/tokens/{id}/doctor', () => {
  it('answers the doctor report of a stored account', async () => {
    const [id] = await stack.importTokens(['doctor-admin-healthy-001']);
    const res = await stack.admin('POST', `/admin/api/tokens/${id}/doctor`);
    expect(res.status).toBe(200);
    const r = (await res.json()) as DoctorReport;
    expect(r.verdict).toBe('ok');
    expect(r.account.id).toBe(id);
    expect(r.account.token).not.toContain('doctor-admin-healthy-001');
    expect(r.layers.map((l) => [l.id, l.status])).toEqual([
      ['dns', 'skip'],
      ['tcp_tls', 'ok'],
      ['cloudflare', 'ok'],
      ['session', 'ok'],
      ['rate_limits', 'ok'],
      ['chat_rest', 'ok'],
      ['chat_ws', 'ok'],
      ['imagine_ws', 'ok'],
    ]);
  });

  it('reports a refused account without changing it in the pool', async () => {
    const [id] = await stack.importTokens(['doctor-admin-invalid-001']);
    stack.fake.setAccount('doctor-admin-invalid-001', { state: 'invalid' });
    const r = (await (await stack.admin('POST', `/admin/api/tokens/${id}/doctor`)).json()) as DoctorReport;
    expect(r.verdict).toBe('fail');
    expect(r.layers.find((l) => l.status === 'fail')).toMatchObject({ id: 'rate_limits', code: 'upstream_auth_failed' });
    const account = await stack.runtime.services.store.getAccount(id!);
    expect([account!.status, account!.failCount, account!.inFlight]).toEqual(['active', 0, 0]);
  });

  it('answers 404 in the error envelope for an unknown account', async () => {
    const res = await stack.admin('POST', '/admin/api/tokens/no-such-account/doctor');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('egress status and settings', () => {
  const egress = async () => (await (await stack.admin('GET', '/admin/api/egress')).json()) as { transport: string; egress: EgressStatus[] };

  it('lists the direct egress with the traffic the requests above made', async () => {
    const r = await egress();
    expect(r.transport).toBe('wreq');
    expect(r.egress).toHaveLength(1);
    expect(r.egress[0]).toMatchObject({ id: 'direct', url: 'direct', healthy: true, failures: 0, lastError: null, cloudflare: { cookies: [], userAgent: null, solvedAt: null } });
    expect(r.egress[0]!.accounts).toBeGreaterThanOrEqual(2);
    expect(r.egress[0]!.bytesIn).toBeGreaterThan(0);
  });

  it('takes egress proxies through the runtime settings and never shows their passwords', async () => {
    const proxies = ['http://alice:s3cret-pw@127.0.0.1:3128', 'socks5h://bob:other-pw@proxy.example:1080'];
    const put = await stack.admin('PUT', '/admin/api/settings', { grok: { egress_proxies: proxies } });
    expect(put.status).toBe(200);
    const settings = (await (await stack.admin('GET', '/admin/api/settings')).json()) as { grok: Record<string, unknown> };
    expect(settings.grok.egress_proxies).toBe('***');
    expect(stack.runtime.services.config().grok.egress_proxies).toEqual(proxies);

    const listed = await egress();
    expect(listed.egress.map((e) => e.url)).toEqual(['http://alice:***@127.0.0.1:3128', 'socks5h://bob:***@proxy.example:1080']);
    expect(JSON.stringify(listed)).not.toMatch(/s3cret-pw|other-pw/);

    // Sending the mask back keeps the stored list; a bad URL is refused naming the setting.
    expect((await stack.admin('PUT', '/admin/api/settings', { grok: { egress_proxies: '***' } })).status).toBe(200);
    expect(stack.runtime.services.config().grok.egress_proxies).toEqual(proxies);
    const bad = await stack.admin('PUT', '/admin/api/settings', { grok: { egress_proxies: ['ftp://nope:21'] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('grok.egress_proxies.0');

    await stack.admin('PUT', '/admin/api/settings', { grok: { egress_proxies: [] } });
    expect((await egress()).egress.map((e) => e.url)).toEqual(['direct']);
  });
});
