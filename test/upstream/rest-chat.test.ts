import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ChatIntent } from '../../src/core/intent.js';
import { UpstreamError } from '../../src/errors.js';
import type { Lease } from '../../src/store/types.js';
import { UpstreamAbortError } from '../../src/upstream/grok/classify.js';
import { createRestChatUpstream } from '../../src/upstream/grok/rest-chat.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import type { ChatUpstream } from '../../src/upstream/types.js';
import { collect, testConfig } from './helpers.js';
import { GrokClient } from '../../src/upstream/grok/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

interface Seen {
  headers: IncomingMessage['headers'];
  body: any;
  url: string;
  /** Resolves when the server-side request/connection closed. */
  closed: Promise<void>;
}

let server: Server;
let handler: Handler;
let seen: Seen[] = [];
let connections = 0;
let config: Config;
let dispatcher: GrokTransport;
const open = new Set<import('node:net').Socket>();
const openSockets = () => open.size;
let chat: ChatUpstream;

const lease: Lease = { leaseId: 'lease-1', accountId: 'acct-1', token: 'sso=tok-secret-123', tier: 'basic', mode: 'fast' };
const intent: ChatIntent = {
  kind: 'chat',
  model: { id: 'grok-4', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'xai', created: 0 },
  messages: [
    { role: 'system', parts: ['Be brief.'] },
    { role: 'user', parts: ['hi'] },
  ],
  thinking: true,
};
const ctx = (signal = new AbortController().signal) => ({ lease, signal });
const line = (o: unknown) => JSON.stringify(o) + '\n';
const resp = (r: Record<string, unknown>) => line({ result: { response: r } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes NDJSON lines, optionally pausing between them, then ends the response. */
function ndjson(lines: string[], opts: { delayMs?: number; end?: boolean; status?: number; headers?: Record<string, string> } = {}): Handler {
  return async (_req, res) => {
    res.writeHead(opts.status ?? 200, { 'content-type': 'application/json', ...opts.headers });
    for (const l of lines) {
      if (res.destroyed) return;
      res.write(l);
      if (opts.delayMs) await sleep(opts.delayMs);
    }
    if (opts.end !== false) res.end();
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    res.on('close', closedResolve);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: body ? JSON.parse(body) : null, url: req.url ?? '', closed });
      void handler(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    connections++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config = testConfig({ grok: { base_url: base }, timeout: { idle_sec: 0.3, first_byte_sec: 0.5, connect_sec: 2 } });
  dispatcher = await createGrokTransport(() => config);
  chat = createRestChatUpstream(new GrokClient(config, dispatcher));
});

afterEach(() => {
  seen = [];
});

afterAll(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const PLAIN = [
  line({ result: { conversation: { conversationId: 'conv_1' } } }),
  resp({ userResponse: { responseId: 'up_1', message: '[user]: hi', sender: 'human' } }),
  resp({ token: 'Hello', isThinking: false, messageTag: 'final', responseId: 'resp_a' }),
  resp({ token: ' there!', isThinking: false, messageTag: 'final', responseId: 'resp_a' }),
  resp({ modelResponse: { responseId: 'resp_a', message: 'Hello there!', metadata: { llm_info: { modelHash: 'h1' } } } }),
  resp({ finalMetadata: { followUpSuggestions: [] } }),
];

describe('rest chat against a local NDJSON server', () => {
  it('streams a plain answer and sends the P2 request', async () => {
    handler = ndjson(PLAIN);
    const events = await collect(await chat.openChat(intent, ctx()));
    expect(events).toEqual([
      { type: 'meta', conversationId: 'conv_1' },
      { type: 'meta', responseId: 'resp_a' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there!' },
      { type: 'meta', modelHash: 'h1' },
      { type: 'done' },
    ]);
    const req = seen[0]!;
    expect(req.url).toBe('/rest/app-chat/conversations/new');
    expect(req.headers.cookie).toBe('sso=tok-secret-123; sso-rw=tok-secret-123');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-statsig-id']).toBeTruthy();
    expect(req.headers['sec-ch-ua']).toContain('"Google Chrome"');
    // Chrome's own list: the Chrome-impersonating client decodes zstd too.
    expect(req.headers['accept-encoding']).toBe('gzip, deflate, br, zstd');
    expect(req.body.modeId).toBe('fast');
    expect(req.body.message).toBe('[system]: Be brief.\n\n[user]: hi');
    for (const [name, value] of Object.entries(req.headers)) if (name !== 'cookie') expect(String(value)).not.toContain('tok-secret');
  });

  it('reuses the connection after a turn that ended with a marker, and cuts it when a turn is abandoned', async () => {
    handler = ndjson(PLAIN);
    const before = connections;
    await collect(await chat.openChat(intent, ctx()));
    await collect(await chat.openChat(intent, ctx()));
    expect(connections - before).toBeLessThanOrEqual(1);
    // A consumer that stops early (a client that left): that turn's connection is closed at once.
    const open = openSockets();
    const events = await chat.openChat(intent, ctx());
    for await (const _ of events) break;
    await vi.waitFor(() => expect(openSockets()).toBeLessThan(open), { timeout: 2000 });
  });

  it('streams reasoning, then text, ending at isSoftStop', async () => {
    handler = ndjson(
      [
        line({ result: { conversation: { conversationId: 'conv_2' } } }),
        resp({ token: 'thinking ', isThinking: true, messageTag: 'analysis' }),
        resp({ token: 'Thinking about your request', isThinking: true, messageTag: 'header', rolloutId: 'Grok' }),
        resp({ token: 'hello', isThinking: false, messageTag: 'final' }),
        resp({ isSoftStop: true }),
      ],
      { end: false }, // the server keeps the response open: the end marker alone must finish the turn
    );
    const events = await collect(await chat.openChat(intent, ctx()));
    expect(events.filter((e) => e.type !== 'meta')).toEqual([
      { type: 'reasoning', text: 'thinking ' },
      { type: 'reasoning', text: '\nThinking about your request\n' },
      { type: 'text', text: 'hello' },
      { type: 'done' },
    ]);
    await seen[0]!.closed; // the drain gives up and closes the still-open response
  });

  it('emits citations and inline markers, decoding a gzip body', async () => {
    const body = gzipSync(
      Buffer.from(
        [
          resp({ messageTag: 'raw_function_result', isThinking: true, webSearchResults: { results: [{ url: 'https://example.com', title: 'Example' }] } }),
          resp({ cardAttachment: { jsonData: '{"id":"cite_1","url":"https://example.com"}' } }),
          resp({ token: 'Answer<grok:render card_id="cite_1" card_type="citation" type="render_inline_citation"></grok:render>', messageTag: 'final' }),
          resp({ isSoftStop: true }),
        ].join(''),
      ),
    );
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.write(body.subarray(0, 20));
      setTimeout(() => res.end(body.subarray(20)), 10);
    };
    const events = await collect(await chat.openChat(intent, ctx()));
    expect(events).toEqual([
      { type: 'citation', url: 'https://example.com', title: 'Example' },
      { type: 'text', text: 'Answer [[1]](https://example.com)' },
      { type: 'done' },
    ]);
  });

  it('rejects openChat for an in-band error before the first text (retryable)', async () => {
    handler = ndjson([line({ result: { conversation: { conversationId: 'c' } } }), line({ error: { code: 7, message: 'Request rejected by anti-bot rules.', details: [] } })], { end: false });
    const err = await chat.openChat(intent, ctx()).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect([err.code, err.disposition, err.effect, err.upstreamStatus]).toEqual(['upstream_anti_bot', 'retry-other', 'none', 200]);
    await seen[0]!.closed;
  });

  it('throws from the iterator for an in-band error after text', async () => {
    handler = ndjson([resp({ token: 'Hel', messageTag: 'final' }), resp({ modelResponse: { streamErrors: [{ message: 'upstream stream failed' }] } })], { end: false });
    const got: UpstreamEvent[] = [];
    const err = await (async () => {
      for await (const e of await chat.openChat(intent, ctx())) got.push(e);
    })().catch((e) => e);
    expect(got).toEqual([{ type: 'text', text: 'Hel' }]);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe('upstream_stream_error');
    await seen[0]!.closed;
  });

  it('classifies 401 and 429 with Retry-After', async () => {
    handler = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":{"code":16,"message":"invalid-credentials","details":[]}}');
    };
    const e401 = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([e401.status, e401.code, e401.disposition, e401.effect, e401.upstreamStatus]).toEqual([502, 'upstream_auth_failed', 'retry-other', 'invalid', 401]);

    handler = (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '120' });
      res.end('{"error":{"code":8,"message":"Too many requests"}}');
    };
    const e429 = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([e429.status, e429.code, e429.effect, e429.retryAfterMs]).toEqual([429, 'upstream_rate_limited', 'cooldown', 120_000]);
  });

  it('times out when the upstream goes silent between frames', async () => {
    handler = ndjson([resp({ token: 'partial', messageTag: 'final' })], { end: false });
    const got: UpstreamEvent[] = [];
    const started = Date.now();
    const err = await (async () => {
      for await (const e of await chat.openChat(intent, ctx())) got.push(e);
    })().catch((e) => e);
    expect(got).toEqual([{ type: 'text', text: 'partial' }]);
    expect([err.status, err.code, err.disposition]).toEqual([504, 'upstream_timeout', 'retry-other']);
    expect(Date.now() - started).toBeLessThan(2000);
    await seen[0]!.closed;
  });

  it('times out before the first frame (first_byte_sec) and rejects openChat', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('\n'); // headers and a blank line, but no frame
    };
    const err = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([err.status, err.code]).toEqual([504, 'upstream_timeout']);
    await seen[0]!.closed;
  });

  it('bounds priming as a whole by first_byte_sec, even while frames without an answer arrive', async () => {
    handler = ndjson(Array.from({ length: 20 }, (_, i) => resp({ userResponse: { responseId: `up_${i}` } })), { delayMs: 100, end: false });
    const started = Date.now();
    const err = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([err.status, err.code]).toEqual([504, 'upstream_timeout']);
    expect(Date.now() - started).toBeLessThan(900);
    await seen[0]!.closed;
  });

  it('does not count a slow consumer as upstream silence', async () => {
    // The response stays open, so an idle timer that kept counting would abort it.
    handler = ndjson([resp({ token: 'a', messageTag: 'final' }), resp({ token: 'b', messageTag: 'final' }), resp({ isSoftStop: true })], { end: false, delayMs: 250 });
    const texts: string[] = [];
    for await (const e of await chat.openChat(intent, ctx())) {
      if (e.type === 'text') texts.push(e.text);
      await sleep(400); // longer than idle_sec while we hold the stream
    }
    expect(texts).toEqual(['a', 'b']);
  });

  it('closes the upstream socket at once when the consumer stops early', async () => {
    handler = ndjson(Array.from({ length: 200 }, (_, i) => resp({ token: `w${i} `, messageTag: 'final' })), { delayMs: 20 });
    const events = await chat.openChat(intent, ctx());
    for await (const e of events) {
      expect(e).toEqual({ type: 'text', text: 'w0 ' });
      break; // calls return() on the iterator
    }
    const t0 = Date.now();
    await seen[0]!.closed;
    expect(Date.now() - t0).toBeLessThan(200);
  });

  it('aborts on the client signal, before and during the stream', async () => {
    handler = ndjson(Array.from({ length: 200 }, (_, i) => resp({ token: `w${i} `, messageTag: 'final' })), { delayMs: 20 });
    const ac = new AbortController();
    const it = (await chat.openChat(intent, ctx(ac.signal)))[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'text', text: 'w0 ' });
    const pending = it.next().then(() => it.next()).then(() => it.next()).then(() => it.next());
    ac.abort(new Error('client disconnected'));
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamAbortError);
    await seen[0]!.closed;

    const dead = new AbortController();
    dead.abort();
    expect(await chat.openChat(intent, ctx(dead.signal)).catch((e) => e)).toBeInstanceOf(UpstreamAbortError);
  });

  it('treats EOF after the assembled answer as done, EOF after text without it as a cut-off answer, and EOF without any answer as a bad response', async () => {
    handler = ndjson([resp({ token: 'only text', messageTag: 'final' }), resp({ modelResponse: { message: 'only text' } })]);
    expect((await collect(await chat.openChat(intent, ctx()))).map((e) => e.type)).toEqual(['text', 'done']);

    // Text, then a clean end of the body without modelResponse / finalMetadata / isSoftStop.
    handler = ndjson([resp({ token: 'only text', messageTag: 'final' })]);
    const events = await chat.openChat(intent, ctx());
    const cut = await collect(events).catch((e) => e);
    expect([cut.code, cut.disposition, cut.quality]).toEqual(['upstream_bad_response', 'retry-other', 'incomplete']);

    // No text at all, only the closing frames: an empty answer.
    handler = ndjson([resp({ modelResponse: { message: '' } }), resp({ finalMetadata: { followUpSuggestions: [] } })]);
    const empty = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([empty.code, empty.quality]).toEqual(['upstream_empty_answer', 'empty']);

    handler = ndjson([line({ result: { conversation: { conversationId: 'c' } } })]);
    const err = await chat.openChat(intent, ctx()).catch((e) => e);
    expect([err.code, err.disposition]).toEqual(['upstream_bad_response', 'retry-other']);
  });

  it('classifies a refused connection as retry-other', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = createRestChatUpstream(new GrokClient(testConfig({ grok: { base_url: `http://127.0.0.1:${port}` } }), dispatcher));
    const err = await dead.openChat(intent, ctx()).catch((e) => e);
    expect([err.status, err.code, err.disposition, err.effect]).toEqual([502, 'upstream_unreachable', 'retry-other', 'none']);
  });
});
