import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from './server.js';
import { CHAT, chat, ndjson, post, statusOf } from './test-helpers.js';

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('request recording', () => {
  it('records method, path, headers, cookies, parsed body and token', async () => {
    await (await chat(fake, 'record me', 'tok-rec')).text();
    const [rec] = fake.requests;
    expect(rec).toMatchObject({ id: expect.any(Number), method: 'POST', path: CHAT, token: 'tok-rec', clientAborted: false });
    expect(rec!.cookies).toEqual({ sso: 'tok-rec', 'sso-rw': 'tok-rec' });
    expect(rec!.headers['x-statsig-id']).toBe('eDE6dGVzdA==');
    expect(rec!.body).toEqual({ message: 'record me', modeId: 'fast', temporary: true });
    const done = await fake.waitFor((r) => r.id === rec!.id && r.closedAt !== null);
    expect(done.closedAt).toBeGreaterThanOrEqual(done.receivedAt);
  });

  it('keeps raw text for non-JSON bodies and answers 400, 404 and 405 without crashing', async () => {
    const bad = await post(fake, CHAT, '{not json');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/json/i);
    expect(fake.requests.at(-1)!.body).toBe('{not json');
    expect(await statusOf(post(fake, '/rest/app-chat/upload-file', '[1,2]'))).toBe(400);
    expect(await statusOf(post(fake, '/nowhere', {}))).toBe(404);
    expect(await statusOf(fetch(fake.url + CHAT))).toBe(405);
    // A cookie header without sso, and one with odd spacing, both parse.
    expect(await statusOf(post(fake, CHAT, { message: 'x', modeId: 'fast' }, null, { headers: { cookie: 'foo=bar' } }))).toBe(401);
    await (await post(fake, CHAT, { message: 'x', modeId: 'fast' }, null, { headers: { cookie: 'sso=abc;cf_clearance=cf' } })).text();
    expect(fake.requests.at(-1)!.cookies).toEqual({ sso: 'abc', cf_clearance: 'cf' });
    expect(await statusOf(chat(fake, 'still alive'))).toBe(200);
  });

  it('waitFor resolves on a later request and rejects after its timeout', async () => {
    const waiting = fake.waitFor((r) => r.body?.message === 'later');
    await (await chat(fake, 'later')).text();
    expect((await waiting).body.message).toBe('later');
    await expect(fake.waitFor(() => false, 20)).rejects.toThrow(/waitFor/);
  });

  it('reset forgets requests, accounts, scripts and quotas', async () => {
    fake.setAccount('gone', { state: 'invalid' });
    fake.script('scripted', { kind: 'plain', answer: 'scripted answer' });
    await (await chat(fake, 'use one')).text();
    expect(fake.quota('tok-1', 'fast').remaining).toBe(29);
    const requests = fake.requests;
    fake.reset();
    expect(requests).toHaveLength(0);
    expect(fake.requests).toBe(requests);
    expect(fake.quota('tok-1', 'fast').remaining).toBe(30);
    expect(await statusOf(chat(fake, 'x', 'gone'))).toBe(200);
    const tokens = (await ndjson(await chat(fake, 'scripted'))).filter((l) => l.result?.response?.messageTag === 'final');
    expect(tokens.map((l) => l.result.response.token).join('')).toBe(fake.defaultAnswer);
  });
});

describe('client aborts and concurrency', () => {
  it('marks a request clientAborted when the client leaves mid-stream', async () => {
    const answer = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    fake.script('slow-one', { kind: 'plain', answer, interTokenDelayMs: 20 });
    const controller = new AbortController();
    const res = await chat(fake, 'slow-one', 'tok-abort', 'fast', { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(fake.activeChats('tok-abort')).toBe(1);
    const abortedAt = Date.now();
    controller.abort();
    const rec = await fake.waitFor((r) => r.token === 'tok-abort' && r.closedAt !== null, 2000);
    expect(rec.clientAborted).toBe(true);
    expect(rec.closedAt! - abortedAt).toBeLessThan(200);
    expect(fake.activeChats('tok-abort')).toBe(0);
    expect(fake.activeChats()).toBe(0);
    expect(fake.quota('tok-abort', 'fast').remaining).toBe(30);
  });

  it('counts open chats per account and keeps the high-water mark', async () => {
    fake.script('hold', { kind: 'plain', answer: 'a b c d e f g h', interTokenDelayMs: 15 });
    const open = await Promise.all([1, 2, 3].map(() => chat(fake, 'hold', 'tok-par')));
    const readers = open.map((r) => r.body!.getReader());
    await Promise.all(readers.map((r) => r.read()));
    expect(fake.activeChats('tok-par')).toBe(3);
    expect(fake.activeChats('someone-else')).toBe(0);
    for (const r of readers) while (!(await r.read()).done);
    await fake.waitFor(() => fake.requests.filter((r) => r.token === 'tok-par' && r.closedAt !== null).length === 3);
    expect(fake.activeChats('tok-par')).toBe(0);
    expect(fake.maxConcurrentChats('tok-par')).toBe(3);
    expect(fake.quota('tok-par', 'fast').remaining).toBe(27);
  });
});

describe('uploads', () => {
  it('stores the decoded bytes and answers with file ids', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]);
    const res = await post(fake, '/rest/app-chat/upload-file', { fileName: 'image.png', fileMimeType: 'image/png', content: bytes.toString('base64') }, 'tok-up');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.fileMetadataId).toMatch(/^file_\d+$/);
    expect(body.fileUri).toMatch(new RegExp(`^users/[^/]+/${body.fileMetadataId}/content$`));
    expect(fake.uploads).toHaveLength(1);
    expect(fake.uploads[0]).toMatchObject({ id: body.fileMetadataId, fileName: 'image.png', mime: 'image/png', token: 'tok-up' });
    expect(fake.uploads[0]!.bytes.equals(bytes)).toBe(true);
    // A data: URI instead of bare base64 is a client bug the fake refuses.
    const dataUri = { fileName: 'a.png', fileMimeType: 'image/png', content: `data:image/png;base64,${bytes.toString('base64')}` };
    expect(await statusOf(post(fake, '/rest/app-chat/upload-file', dataUri))).toBe(400);
    fake.setAccount('dead', { state: 'invalid' });
    expect(await statusOf(post(fake, '/rest/app-chat/upload-file', { ...dataUri, content: 'AAAA' }, 'dead'))).toBe(401);
  });
});

describe('control API', () => {
  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${fake.url}/__fake/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });

  it('configures accounts and scripts, lists requests and state, and resets', async () => {
    expect((await control('POST', 'accounts', { token: 'ctl', state: 'limited', retryAfterSec: 7 })).status).toBe(200);
    expect((await control('POST', 'scripts', { match: 'via-http', scenario: { kind: 'plain', answer: 'from control' } })).status).toBe(200);
    expect((await control('POST', 'accounts', { token: 'ctl', state: 'nonsense' })).status).toBe(400);
    expect((await control('POST', 'scripts', { match: 'x', scenario: { kind: 'weird' } })).status).toBe(400);
    expect((await control('POST', 'scripts', '{oops')).status).toBe(400);

    const limited = await chat(fake, 'x', 'ctl');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    await limited.text();
    const tokens = (await ndjson(await chat(fake, 'via-http'))).filter((l) => l.result?.response?.messageTag === 'final');
    expect(tokens.map((l) => l.result.response.token).join('')).toBe('from control');

    const recorded = await (await control('GET', 'requests')).json();
    expect(recorded.map((r: { path: string }) => r.path)).toEqual([CHAT, CHAT]);
    const state = await (await control('GET', 'state')).json();
    expect(state.accounts.ctl).toMatchObject({ state: 'limited', tier: 'basic' });
    expect(state.accounts['tok-1'].quotas.fast).toEqual({ remaining: 29, total: 30, windowSeconds: 86400 });
    expect(state.activeChats).toBe(0);

    expect((await control('POST', 'reset')).status).toBe(200);
    expect(fake.requests).toHaveLength(0);
    expect(await statusOf(chat(fake, 'x', 'ctl'))).toBe(200);
  });
});
