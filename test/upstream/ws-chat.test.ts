import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ChatIntent } from '../../src/core/intent.js';
import { UpstreamError } from '../../src/errors.js';
import type { Lease } from '../../src/store/types.js';
import { classifyGatewayError, UpstreamAbortError } from '../../src/upstream/grok/classify.js';
import { createRestChatUpstream } from '../../src/upstream/grok/rest-chat.js';
import { createWsChatUpstream, gatewayUrl } from '../../src/upstream/grok/ws-chat.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { userUuid } from '../fake-grok/mgw.js';
import { startFakeGrok, type FakeGrok, type Scenario } from '../fake-grok/server.js';
import { collect, testConfig } from './helpers.js';
import { GrokClient } from '../../src/upstream/grok/client.js';

let fake: FakeGrok;
let dispatcher: GrokTransport;
let n = 0;

const intent = (text: string): ChatIntent => ({
  kind: 'chat',
  model: { id: 'grok-4', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: true, cost: 1, ownedBy: 'xai', created: 0 },
  messages: [{ role: 'system', parts: ['Be brief.'] }, { role: 'user', parts: [text] }],
  thinking: true,
});
const lease = (token: string): Lease => ({ leaseId: `l${++n}`, accountId: `acct-${token}`, token, tier: 'basic', mode: 'fast' });
const ws = (over: Record<string, Record<string, unknown>> = {}) => createWsChatUpstream(new GrokClient(testConfig({ grok: { base_url: fake.url }, ...over }), dispatcher));
const open = (text: string, token = 'ws-tok', signal = new AbortController().signal, up = ws()) => up.openChat(intent(text), { lease: lease(token), signal });
const content = (events: UpstreamEvent[]) => events.filter((e) => e.type !== 'meta');

async function failure(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    const it = await p;
    if (it && typeof it === 'object' && Symbol.asyncIterator in it) await collect(it as AsyncIterable<unknown>);
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error('no failure');
}

beforeAll(async () => {
  fake = await startFakeGrok();
  dispatcher = await createGrokTransport(() => testConfig());
});
afterAll(async () => {
  await dispatcher.close();
  await fake.close();
});
beforeEach(() => fake.reset());

describe('mgw gateway client', () => {
  it('runs the happy path with the spec handshake, headers and events', async () => {
    const events = await collect(await open('hello gateway'));
    expect(events[0]).toEqual({ type: 'meta', conversationId: expect.stringMatching(/^conv_/) });
    expect(content(events).map((e) => (e.type === 'text' ? e.text : e.type)).join('')).toBe(`${fake.defaultAnswer}done`);
    expect(events.at(-1)).toEqual({ type: 'done' });
    const uid = userUuid('ws-tok');
    const rec = fake.requests.find((r) => r.path === '/ws/mgw/')!;
    expect(rec.cookies).toMatchObject({ sso: 'ws-tok', 'sso-rw': 'ws-tok', 'x-userid': uid });
    expect(rec.headers.origin).toBe(fake.url);
    expect(rec.headers['x-statsig-id']).toBeUndefined();
    expect(rec.headers['x-xai-request-id']).toBeUndefined();
    expect(rec.headers.authorization).toBeUndefined();
    expect(rec.body.message).toBe('[system]: Be brief.\n\n[user]: hello gateway');
    expect(rec.body.session.session).toMatchObject({ model: 'fast', x_grok: { protocol_capabilities: ['conversation_attached', 'custom_methods_v1'], use_chunk: true, is_temporary: true } });
    expect(rec.body.item.session_id).toBeUndefined();
    expect(rec.body.item.item.file_attachment_ids).toBeUndefined();
    expect(rec.body.response.type).toBe('response.create');
    expect(JSON.stringify(rec.body)).not.toContain('castle_request_token');
    expect(gatewayUrl('https://grok.com', uid)).toBe(`wss://grok.com/ws/mgw/?uid=${uid}`);
  });

  it('asks /api/auth/session once per account', async () => {
    const up = ws();
    for (let i = 0; i < 3; i++) await collect(await open(`turn ${i}`, 'cached-tok', undefined, up));
    expect(fake.requests.filter((r) => r.path === '/api/auth/session')).toHaveLength(1);
  });

  const scenarios: [string, Scenario][] = [
    ['plain', { kind: 'plain', answer: 'Same on both wires.' }],
    ['reasoning', { kind: 'reasoning', thinking: ['Thinking it over', '- weighing', 'more thought'], answer: 'Forty-two.' }],
    ['search', { kind: 'search', answer: 'Rust is fast.', sources: [{ url: 'https://doc.rust-lang.org', title: 'The Rust Book' }, { url: 'https://example.org/b' }] }],
  ];
  it.each(scenarios)('produces the same neutral events as REST for a %s turn', async (name, scenario) => {
    fake.script(`parity-${name}`, scenario);
    const viaWs = content(await collect(await open(`parity-${name}`)));
    const rest = createRestChatUpstream(new GrokClient(testConfig({ grok: { base_url: fake.url } }), dispatcher));
    const viaRest = content(await collect(await rest.openChat(intent(`parity-${name}`), { lease: lease('ws-tok'), signal: new AbortController().signal })));
    // Same answer, same sources; reasoning differs only in line layout (mgw has no header/summary tags).
    const summary = (evs: UpstreamEvent[]) => ({
      text: evs.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join(''),
      reasoning: evs.filter((e) => e.type === 'reasoning').map((e) => (e as { text: string }).text).join('').replace(/\s+/g, ''),
      citations: evs.filter((e) => e.type === 'citation'),
      last: evs.at(-1),
    });
    expect(summary(viaWs)).toEqual(summary(viaRest));
    if (name === 'reasoning') expect(viaWs.some((e) => e.type === 'reasoning' && e.text.includes('Thinking it over'))).toBe(true);
    if (name === 'search') {
      expect(viaWs.filter((e) => e.type === 'citation')).toHaveLength(2);
      expect(viaWs.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('')).toContain('[[1]](https://doc.rust-lang.org)');
    }
  });

  it.each([
    ['invalid', 'upstream_auth_failed', 'invalid'],
    ['antibot', 'upstream_anti_bot', 'none'],
    ['blocked', 'upstream_auth_failed', 'invalid'],
    ['limited', 'upstream_rate_limited', 'cooldown'],
    ['garbage', 'upstream_bad_response', 'none'],
  ] as const)('classifies a refused upgrade for a %s account', async (state, code, effect) => {
    fake.setAccount(`acct-${state}`, { state, retryAfterSec: 42 });
    const e = await failure(open('hi', `acct-${state}`));
    expect([e.code, e.effect, e.disposition]).toEqual([code, effect, 'retry-other']);
    if (state === 'limited') expect(e.retryAfterMs).toBe(42_000);
  });

  it.each([
    ['antibot', 'upstream_anti_bot', 'none'],
    ['rate-limited', 'upstream_rate_limited', 'cooldown'],
    ['usage-limit', 'upstream_quota_exhausted', 'quota-exhausted'],
    ['stream-errors', 'upstream_stream_error', 'none'],
  ] as const)('rejects openChat when the first frame is a %s error', async (variant, code, effect) => {
    fake.script(`first-${variant}`, { kind: 'error-in-stream', variant });
    const e = await failure(open(`first-${variant}`));
    expect([e.code, e.effect]).toEqual([code, effect]);
  });

  it('reports an error after the first byte from the iterable', async () => {
    fake.script('late-error', { kind: 'error-in-stream', variant: 'stream-errors', afterTokens: 2 });
    const events: UpstreamEvent[] = [];
    const it = await open('late-error');
    const e = await failure((async () => { for await (const ev of it) events.push(ev); })());
    expect(e.code).toBe('upstream_stream_error');
    expect(events.some((ev) => ev.type === 'text')).toBe(true);
  });

  it('fails a dropped connection and a slow first frame', async () => {
    fake.setAccount('drop-tok', { state: 'drop', dropAfterFrames: 3 });
    expect((await failure(open('drop me', 'drop-tok'))).code).toBe('upstream_unreachable');
    fake.setAccount('slow-tok', { firstByteDelayMs: 3000 });
    const e = await failure(open('slow', 'slow-tok', undefined, ws({ timeout: { first_byte_sec: 0.3 } })));
    expect(e.code).toBe('upstream_timeout');
  });

  it('closes the socket at once when the client aborts', async () => {
    fake.script('long-ws', { kind: 'plain', answer: Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '), interTokenDelayMs: 40 });
    const ac = new AbortController();
    const it = (await open('long-ws', 'abort-tok', ac.signal))[Symbol.asyncIterator]();
    await it.next();
    const at = Date.now();
    ac.abort();
    // Events already primed may still come out; nothing after the abort does.
    let after = 0;
    await expect((async () => { while (!(await it.next()).done) after++; })()).rejects.toBeInstanceOf(UpstreamAbortError);
    expect(after).toBeLessThanOrEqual(1);
    const rec = await fake.waitFor((r) => r.path === '/ws/mgw/' && r.token === 'abort-tok' && r.closedAt !== null);
    expect(rec.clientAborted).toBe(true);
    expect(rec.closedAt! - at).toBeLessThan(200);
    expect(fake.activeChats('abort-tok')).toBe(0);
  });

  it('treats an unauthenticated /api/auth/session as a dead credential', async () => {
    const srv = createServer((_q, r) => r.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"unauthenticated"}'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const up = createWsChatUpstream(new GrokClient(testConfig({ grok: { base_url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}` } }), dispatcher));
    const e = await failure(up.openChat(intent('x'), { lease: lease('t'), signal: new AbortController().signal }));
    expect([e.code, e.effect]).toEqual(['upstream_auth_failed', 'invalid']);
    srv.close();
  });
});

describe('gateway error classification', () => {
  it.each([
    [{ code: 'anti_bot', message: 'anti-bot rejected' }, 'upstream_anti_bot'],
    [{ code: 'rate_limited', message: 'slow down' }, 'upstream_rate_limited'],
    [{ code: 'usage_limit', message: '' }, 'upstream_quota_exhausted'],
    [{ code: 'unauthenticated', message: 'who are you' }, 'upstream_auth_failed'],
    [{ code: 7, message: 'Request rejected by anti-bot rules.' }, 'upstream_anti_bot'],
    [{ code: 'internal', message: 'boom' }, 'upstream_stream_error'],
  ])('%j → %s', (error, code) => {
    expect(classifyGatewayError(error).code).toBe(code);
  });
});
