import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { ChatIntent } from '../../src/core/intent.js';
import type { Lease } from '../../src/store/types.js';
import { imagineRound } from '../../src/upstream/grok/imagine/ws-client.js';
import { fetchRateLimits } from '../../src/upstream/grok/quota.js';
import { createRestChatUpstream } from '../../src/upstream/grok/rest-chat.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { createWsChatUpstream } from '../../src/upstream/grok/ws-chat.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { akamaiFingerprint } from '../helpers/h2-frames.js';
import { startTlsCapture, type TlsCapture, type TlsConnection } from '../helpers/tls-capture.js';
import { collect, testConfig } from './helpers.js';
import { GrokClient } from '../../src/upstream/grok/client.js';

/**
 * The offline fingerprint test (issue 12, item 3): the real grok.com call paths — a quota fetch
 * and a REST chat turn, the mgw chat WebSocket, the imagine WebSocket — run against a local
 * `https://localhost:<port>` that records the ClientHello, the HTTP/2 preface and the header
 * order (test/helpers/tls-capture.ts) before handing each request on to the fake grok.com. What
 * was recorded must be Chrome's (docs/upstream-identity.md §1, wreq-js 3.1.0's Chrome profiles); the
 * same checks run against `grok.http_client = "undici"` must fail, so the test can tell.
 */

/** Chrome 13x–149 (every Chrome profile of wreq-js 3.1.0), measured against the same kind of server. */
const CHROME = {
  ja4: 't13d1516h2_8daaf6152771_d8a2da3f94cd',
  /** The same ClientHello offering only http/1.1 (a WebSocket). */
  socketJa4Prefix: 't13d1516h1_8daaf6152771_',
  alpn: ['h2', 'http/1.1'],
  socketAlpn: ['http/1.1'],
  akamai: '1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p',
  /** HEADERS priority of a fetch(): exclusive, depends on stream 0, weight 220. */
  priority: '1:0:220',
  pseudo: ':method,:authority,:scheme,:path',
} as const;
/** Node's own TLS (OpenSSL defaults: 59 cipher suites). */
const NODE_JA4_PREFIX = 't13d59';

/**
 * A grok.com REST call (buildGrokHeaders plus content-length) in Chrome's fetch() order
 * (header-order.ts): the browser's headers around the page's, which sit where Chrome puts
 * content-type; cookie before priority.
 */
const REST_HEADER_ORDER = [
  'content-length', 'sec-ch-ua-platform', 'user-agent', 'sec-ch-ua', 'content-type',
  'baggage', 'x-xai-request-id', 'x-statsig-id',
  'sec-ch-ua-mobile', 'accept', 'origin', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'referer',
  'accept-encoding', 'accept-language', 'cookie', 'priority',
];
/** The mgw user-id lookup (a GET without body, with cache headers) in the same order. */
const SESSION_LOOKUP_ORDER = [
  'sec-ch-ua-platform', 'user-agent', 'sec-ch-ua', 'cache-control', 'pragma',
  'sec-ch-ua-mobile', 'accept', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'referer',
  'accept-encoding', 'accept-language', 'cookie', 'priority',
];
/** Chrome's WebSocket upgrade headers in Chrome's order and case (Cookie after Accept-Language). */
const CHROME_UPGRADE_ORDER = [
  'Host', 'Connection', 'Pragma', 'Cache-Control', 'User-Agent', 'Upgrade', 'Origin',
  'Sec-WebSocket-Version', 'Accept-Encoding', 'Accept-Language', 'Cookie', 'Sec-WebSocket-Key',
];
/**
 * What the wreq transport sends on both sockets: Chrome's headers in Chrome's order, with the
 * extras wreq-js 3.1.0 adds and cannot be told to drop (Accept, Sec-Fetch-*, client hints,
 * priority; docs/upstream-identity.md §1) interleaved.
 */
const WREQ_UPGRADE_HEADERS = [
  'Host', 'Connection', 'Pragma', 'Cache-Control', 'User-Agent', 'Upgrade', 'Origin', 'Sec-WebSocket-Version',
  'Accept-Encoding', 'Accept-Language', 'Accept', 'Cookie', 'Sec-WebSocket-Key',
  'Sec-Fetch-Dest', 'Sec-Fetch-Mode', 'Sec-Fetch-Site', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform', 'priority',
];

const TOKEN = 'fp-tok';
const intent = (text: string): ChatIntent => ({
  kind: 'chat',
  model: { id: 'grok-4', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'xai', created: 0 },
  messages: [{ role: 'user', parts: [text] }],
  thinking: false,
});
let leases = 0;
const chatContext = () => ({ lease: { leaseId: `fp${++leases}`, accountId: 'acct-fp', token: TOKEN, tier: 'basic', mode: 'fast' } as Lease, signal: new AbortController().signal });
const answerOf = (events: { type: string; text?: string }[]) => events.filter((e) => e.type === 'text').map((e) => e.text).join('');

/** The request for `path` on a connection, whichever HTTP version carried it. */
function requestOn(c: TlsConnection, path: string): { names: string[]; pseudo?: string[]; priority?: string | null } | undefined {
  const h2 = c.h2?.requests.find((r) => r.headers.some(([n, v]) => n === ':path' && v.split('?')[0] === path));
  if (h2) {
    const p = h2.priority;
    return { names: h2.names, pseudo: h2.pseudo, priority: p && `${p.exclusive ? 1 : 0}:${p.dependency}:${p.weight}` };
  }
  return c.http1.find((r) => r.path.split('?')[0] === path);
}

/** How a REST call's connection differs from Chrome: check name → what was seen. Empty for Chrome. */
function restDifferences(c: TlsConnection, path: string, headerOrder: string[]): Record<string, unknown> {
  const req = requestOn(c, path);
  const seen: Record<string, unknown> = {
    sni: c.sni,
    ja4: c.ja4,
    alpn: c.alpnOffered,
    grease: c.grease,
    akamai: c.h2 && akamaiFingerprint(c.h2),
    priority: req?.priority ?? null,
    pseudo: req?.pseudo?.join(',') ?? null,
    headerOrder: req?.names,
  };
  const want: Record<string, unknown> = { sni: 'localhost', ja4: CHROME.ja4, alpn: CHROME.alpn, grease: true, akamai: CHROME.akamai, priority: CHROME.priority, pseudo: CHROME.pseudo, headerOrder };
  return Object.fromEntries(Object.entries(seen).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(want[k])));
}

/** How a WebSocket's connection differs from Chrome's; empty for Chrome. */
function socketDifferences(c: TlsConnection): Record<string, unknown> {
  const names = c.upgrade?.names ?? [];
  const seen: Record<string, unknown> = {
    sni: c.sni,
    ja4: c.ja4.startsWith(CHROME.socketJa4Prefix) ? 'chrome' : c.ja4,
    alpn: c.alpnOffered,
    grease: c.grease,
    upgradeOrder: names.filter((n) => CHROME_UPGRADE_ORDER.includes(n)),
  };
  const want: Record<string, unknown> = { sni: 'localhost', ja4: 'chrome', alpn: CHROME.socketAlpn, grease: true, upgradeOrder: CHROME_UPGRADE_ORDER };
  return Object.fromEntries(Object.entries(seen).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(want[k])));
}

/** The one connection (from index `since` on) that carried `path`. */
function only(capture: TlsCapture, path: string, since: number): TlsConnection {
  const found = capture.carrying(path, since);
  expect(found, `connections carrying ${path}`).toHaveLength(1);
  return found[0]!;
}

let fake: FakeGrok;
let capture: TlsCapture;
const configFor = (client: 'wreq' | 'undici'): Config => testConfig({ grok: { base_url: capture.url, ca_file: capture.caFile, http_client: client } });

beforeAll(async () => {
  fake = await startFakeGrok();
  capture = await startTlsCapture({ backend: fake.url });
});
afterAll(async () => {
  await capture?.close();
  await fake?.close();
});

describe('grok.com sees Chrome (grok.http_client = "wreq")', () => {
  let config: Config;
  let grok: GrokTransport;
  let since = 0;
  beforeAll(async () => {
    since = capture.connections.length;
    config = configFor('wreq');
    grok = await createGrokTransport(() => config);
  });
  afterAll(() => grok?.close());

  it('REST: a quota fetch and a chat turn carry Chrome’s ClientHello, HTTP/2 preface, priority and header order', async () => {
    expect(await fetchRateLimits(new GrokClient(config, grok), TOKEN, 'fast')).toMatchObject({ remaining: expect.any(Number) });
    const events = await collect(await createRestChatUpstream(new GrokClient(config, grok)).openChat(intent('fingerprint over REST'), chatContext()));
    expect(answerOf(events)).toBe(fake.defaultAnswer);

    const quota = only(capture, '/rest/rate-limits', since);
    const chat = only(capture, '/rest/app-chat/conversations/new', since);
    // The chat stream has a connection of its own (so it can be cut), hence two ClientHellos.
    expect(chat).not.toBe(quota);
    for (const [c, path] of [[quota, '/rest/rate-limits'], [chat, '/rest/app-chat/conversations/new']] as const) {
      expect(restDifferences(c, path, REST_HEADER_ORDER)).toEqual({});
      expect(c.alpn).toBe('h2');
      expect(c.ja4.startsWith(NODE_JA4_PREFIX)).toBe(false);
      // GREASE opens and closes the extension list, as in Chrome.
      expect([c.extensions[0], c.extensions.at(-1)]).toEqual(['G', 'G']);
    }
    // Chrome shuffles its extensions on every ClientHello: same set, another order.
    expect(chat.extensions.join('-')).not.toBe(quota.extensions.join('-'));
    expect([...chat.extensions].sort()).toEqual([...quota.extensions].sort());
  });

  it('mgw chat WebSocket: Chrome’s ClientHello with ALPN http/1.1 and Chrome’s upgrade header order', async () => {
    const from = capture.connections.length;
    const events = await collect(await createWsChatUpstream(new GrokClient(config, grok)).openChat(intent('fingerprint over mgw'), chatContext()));
    expect(answerOf(events)).toBe(fake.defaultAnswer);

    const socket = only(capture, '/ws/mgw/', from);
    expect(socketDifferences(socket)).toEqual({});
    expect(socket.ja4).toMatch(new RegExp(`^${CHROME.socketJa4Prefix}`));
    expect(socket.alpn).toBe('http/1.1');
    expect(socket.upgrade!.names).toEqual(WREQ_UPGRADE_HEADERS);
    // The user-id lookup before the socket is a Chrome fetch like any REST call.
    const lookup = only(capture, '/api/auth/session', since);
    expect(restDifferences(lookup, '/api/auth/session', SESSION_LOOKUP_ORDER)).toEqual({});
  });

  it('imagine WebSocket: the same handshake as the chat socket', async () => {
    const from = capture.connections.length;
    const images = await imagineRound(new GrokClient(config, grok), TOKEN, { prompt: 'a lighthouse', aspectRatio: '1:1', n: 1, nsfw: false }, new AbortController().signal, () => {});
    expect(images).toHaveLength(1);
    expect(images[0]!.bytes!.subarray(1, 4).toString()).toBe('PNG');

    const socket = only(capture, '/ws/imagine/listen', from);
    expect(socketDifferences(socket)).toEqual({});
    expect(socket.ja4).toMatch(new RegExp(`^${CHROME.socketJa4Prefix}`));
    expect(socket.upgrade!.names).toEqual(WREQ_UPGRADE_HEADERS);
  });

  it('no connection of this transport fell back to Node’s TLS', () => {
    const mine = capture.connections.slice(since);
    expect(mine.length).toBeGreaterThanOrEqual(4);
    for (const c of mine) {
      expect(c.ja4.startsWith(NODE_JA4_PREFIX), `connection ${c.id}: JA4 ${c.ja4}`).toBe(false);
      expect(c.ja4).toMatch(/^t13d1516h[12]_8daaf6152771_d8a2da3f94cd$/);
    }
  });
});

describe('the same checks tell Node’s TLS apart (grok.http_client = "undici")', () => {
  let config: Config;
  let grok: GrokTransport;
  let since = 0;
  beforeAll(async () => {
    since = capture.connections.length;
    config = configFor('undici');
    grok = await createGrokTransport(() => config);
  });
  afterAll(() => grok?.close());

  it('REST fails every check but SNI', async () => {
    expect(await fetchRateLimits(new GrokClient(config, grok), TOKEN, 'fast')).toMatchObject({ remaining: expect.any(Number) });
    const differences = restDifferences(only(capture, '/rest/rate-limits', since), '/rest/rate-limits', REST_HEADER_ORDER);
    expect(Object.keys(differences).sort()).toEqual(['akamai', 'alpn', 'grease', 'headerOrder', 'ja4', 'priority', 'pseudo']);
    // Node's ClientHello, offering HTTP/1.1 only; no HTTP/2 preface at all.
    expect(differences.ja4).toMatch(new RegExp(`^${NODE_JA4_PREFIX}`));
    expect(differences.alpn).toEqual(['http/1.1']);
    expect(differences.akamai).toBeNull();
  });

  it('both WebSockets fail every check but SNI', async () => {
    const from = capture.connections.length;
    await collect(await createWsChatUpstream(new GrokClient(config, grok)).openChat(intent('fingerprint over mgw'), chatContext()));
    await imagineRound(new GrokClient(config, grok), TOKEN, { prompt: 'a lighthouse', aspectRatio: '1:1', n: 1, nsfw: false }, new AbortController().signal, () => {});
    for (const path of ['/ws/mgw/', '/ws/imagine/listen']) {
      const differences = socketDifferences(only(capture, path, from));
      expect(Object.keys(differences).sort(), path).toEqual(['alpn', 'grease', 'ja4', 'upgradeOrder']);
      // The `ws` library offers no ALPN at all.
      expect(differences.ja4).toMatch(new RegExp(`^${NODE_JA4_PREFIX}`));
      expect(differences.alpn).toBeNull();
    }
  });
});
