import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcFrame, grpcStatus, grpcToHttp, nsfwPayload } from '../../src/upstream/grok/grpc-web.js';
import { randomBirthDate } from '../../src/upstream/grok/nsfw.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

describe('NSFW enablement', () => {
  it('frames the requests as docs/upstream-grok.md §8 describes them', () => {
    expect(nsfwPayload(true).length).toBe(0x20);
    expect(grpcFrame(nsfwPayload(true)).subarray(0, 13).toString('hex')).toBe('00000000200a021001121a0a18');
    expect(grpcFrame(nsfwPayload(false)).subarray(5, 9).toString('hex')).toBe('0a021000');
    const trailer = Buffer.from('grpc-status:16\r\ngrpc-message:bad%20creds\r\n');
    expect(grpcStatus({}, Buffer.concat([grpcFrame(Buffer.alloc(0)), grpcFrame(trailer, 0x80)]))).toEqual({ code: 16, message: 'bad creds' });
    expect(grpcStatus({}, Buffer.from(Buffer.concat([grpcFrame(trailer, 0x80)]).toString('base64')), 'application/grpc-web-text')).toMatchObject({ code: 16 });
    expect(grpcStatus({ 'grpc-status': '0' }, Buffer.alloc(0))).toEqual({ code: 0, message: '' });
    expect([16, 7, 8, 4, 14, 2].map(grpcToHttp)).toEqual([401, 403, 429, 504, 503, 502]);
    const d = new Date(randomBirthDate(new Date('2026-01-01T00:00:00Z')));
    expect(d.getUTCHours()).toBe(16);
    expect(2026 - d.getUTCFullYear()).toBeGreaterThanOrEqual(20);
    expect(2026 - d.getUTCFullYear()).toBeLessThanOrEqual(41);
  });

  it('accepts the terms, sets a birth date, switches NSFW on and tags the account; dead credentials become invalid', async () => {
    const [ok, again, dead] = await stack.importTokens(['nsfw-ok', 'nsfw-again', 'nsfw-dead']);
    stack.fake.setAccount('nsfw-dead', { state: 'invalid' });
    const res = await stack.admin('POST', '/admin/api/tokens/nsfw', { ids: [ok, dead, 'missing'] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: any[]; enabled: number };
    expect(body.results[0]).toEqual({ id: ok, ok: true, steps: ['tos', 'tos_product', 'birth_date', 'nsfw'] });
    expect(body.results[1]).toMatchObject({ id: dead, ok: false, steps: [] });
    expect(body.results[2]).toMatchObject({ id: 'missing', ok: false });
    expect(stack.fake.userSettings('nsfw-ok')).toMatchObject({ tosVersion: 1, productTosVersion: 5, nsfw: true });
    // grok.com's own record of the terms (version 5), after accounts.x.ai's, with the browser headers.
    const calls = stack.fake.requests.filter((r) => r.token === 'nsfw-ok');
    const product = calls.findIndex((r) => r.path === '/rest/auth/set-tos-accepted');
    expect(product).toBeGreaterThan(calls.findIndex((r) => r.path.endsWith('/SetTosAcceptedVersion')));
    expect(product).toBeLessThan(calls.findIndex((r) => r.path === '/rest/auth/set-birth-date'));
    expect(calls[product]!.body).toEqual({ tosVersion: 5 });
    expect(calls[product]!.headers['x-statsig-id']).toBeTruthy();
    expect(calls[product]!.headers['sec-ch-ua-mobile']).toBe('?0');
    expect(stack.fake.userSettings('nsfw-ok').birthDate).toMatch(/T16:00:00.000Z$/);
    const tos = stack.fake.requests.find((r) => r.path.endsWith('/SetTosAcceptedVersion') && r.token === 'nsfw-ok')!;
    expect(tos.headers['x-user-agent']).toBe('connect-es/2.1.1');
    expect(tos.cookies['sso-rw']).toBe('nsfw-ok');

    // A second run: the birth date is "already set" (429 with the marker) and counts as done.
    const all = (await (await stack.admin('POST', '/admin/api/tokens/nsfw', {})).json()) as { results: any[] };
    expect(all.results.find((r) => r.id === ok)).toMatchObject({ ok: true });
    expect(all.results.find((r) => r.id === again)).toMatchObject({ ok: true });
    expect(all.results.find((r) => r.id === dead)).toBeUndefined();
    const list = (await (await stack.admin('GET', '/admin/api/tokens')).json()).tokens as any[];
    expect(list.find((t) => t.id === ok).tags).toEqual(['nsfw']);
    expect(list.find((t) => t.id === dead).status).toBe('invalid');
  });

  it('rejects a malformed body', async () => {
    const res = await stack.admin('POST', '/admin/api/tokens/nsfw', { ids: 'all' });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('ids');
  });
});
