/**
 * OpenTelemetry tracing end to end: the real server entry (src/server.ts) as its own process,
 * against the fake grok.com, exporting to a real OTLP/HTTP receiver (./otlp-receiver.ts). The
 * span tree of a request (server span → pool.lease, upstream.attempt), its attributes and events,
 * a continued `traceparent`, trace ids in the log lines, both OTLP encodings; and, with the
 * variables unset (or OTEL_SDK_DISABLED), nothing exported and no SDK module loaded (a module
 * resolution hook, ./load-spy.mjs, lists what the process loaded).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const ADMIN = 'trace-admin-key';
const ENV_KEY = 'sk-trace-env-key';
const SPY = resolve(import.meta.dirname, 'load-spy.mjs');
const SERVER_KIND = 2; // OTLP SPAN_KIND_SERVER
const INTERNAL_KIND = 1;
const ERROR = 2;

let fake: FakeGrok;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await fake.close();
});

interface Started {
  server: ServerProcess;
  /** Every @opentelemetry module URL the process resolved. */
  loaded(): string[];
  /** The server's JSON log lines. */
  logs(): Record<string, unknown>[];
  admin(method: string, path: string, body?: unknown): Promise<Response>;
}

async function startServer(env: Record<string, string>, toml = ''): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-trace-'));
  const spyFile = join(dir, 'loaded.txt');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'config.toml'), toml);
  const server = await spawnServer({
    GROK_BASE_URL: fake.url,
    GROK_ASSETS_URL: fake.url,
    DATA_DIR: join(dir, 'data'),
    APP_KEY: ADMIN,
    API_KEY: ENV_KEY,
    LOG_LEVEL: 'info',
    NODE_OPTIONS: `--import=${SPY}`,
    LOAD_SPY_FILE: spyFile,
    ...env,
  });
  cleanups.push(async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    server,
    loaded: () => (existsSync(spyFile) ? readFileSync(spyFile, 'utf8').split('\n').filter(Boolean) : []),
    logs: () =>
      server
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    admin: (method, path, body) =>
      fetch(server.url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}

function chat(url: string, key: string, prompt: string, opts: { stream?: boolean; headers?: Record<string, string> } = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...opts.headers },
    body: JSON.stringify({ model: 'grok-4', stream: opts.stream ?? false, messages: [{ role: 'user', content: prompt }] }),
  });
}

/** The SDK proper: anything of OpenTelemetry but the API package. */
const sdkModules = (urls: string[]) => urls.filter((u) => !/\/node_modules\/@opentelemetry\/api\//.test(u));

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const serverSpanOf = (spans: ReceivedSpan[], traceId: string) => spans.find((s) => s.traceId === traceId && s.kind === SERVER_KIND);

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT, OTLP/JSON)', () => {
  let receiver: OtlpReceiver;
  let s: Started;
  let accountId: string;
  let key: { id: string; key: string };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    s = await startServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-auth=collector-secret',
      OTEL_SERVICE_NAME: 'g2a-trace-test',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    const imported = await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-acct-1'] }).then((r) => r.json());
    accountId = imported.ids[0];
    key = await s.admin('POST', '/admin/api/keys', { name: 'tracer' }).then((r) => r.json());
  }, 60_000);

  it('continues an incoming traceparent: server span, lease and attempt children, first byte, no secrets', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const prompt = 'tracing-nonstream confidential-prompt-words';
    expect((await fetch(`${s.server.url}/health`)).status).toBe(200);
    const res = await chat(s.server.url, key.key, prompt, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    expect(res.status).toBe(200);
    await res.json();

    const spans = (await receiver.waitFor((all) => serverSpanOf(all, traceId) !== undefined)).filter((x) => x.traceId === traceId);
    const root = serverSpanOf(spans, traceId)!;
    expect(root.name).toBe('POST /v1/chat/completions');
    expect(root.parentSpanId).toBe(parentId);
    expect(root.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'url.path': '/v1/chat/completions',
      'http.response.status_code': 200,
      'grok2api.model': 'grok-4',
      'grok2api.client_key.id': key.id,
      'grok2api.client_key.name': 'tracer',
      'grok2api.provider': 'grok',
      'grok2api.account.id': accountId,
    });
    expect(root.statusCode).toBe(0);
    expect(root.events.map((e) => e.name)).toContain('first_byte');
    expect(root.resource['service.name']).toBe('g2a-trace-test');

    const [lease] = byName(spans, 'pool.lease');
    expect(lease).toBeDefined();
    expect(lease!.parentSpanId).toBe(root.spanId);
    expect(lease!.kind).toBe(INTERNAL_KIND);
    expect(lease!.attributes).toMatchObject({ 'grok2api.provider': 'grok', 'grok2api.lease.result': 'ok', 'grok2api.account.id': accountId, 'grok2api.model': 'grok-4' });

    const attempts = byName(spans, 'upstream.attempt');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.parentSpanId).toBe(root.spanId);
    expect(attempts[0]!.attributes).toMatchObject({
      'grok2api.provider': 'grok',
      'grok2api.upstream.transport': 'ws',
      'grok2api.account.id': accountId,
      'grok2api.upstream.retry_number': 0,
      'grok2api.upstream.retry_reason': 'none',
      'grok2api.upstream.outcome': 'success',
    });
    expect(attempts[0]!.events.map((e) => e.name)).toEqual(['upstream.first_event']);

    // Probes are not traced (the health check above was exported before this trace, or never).
    expect(receiver.spans().filter((x) => x.attributes['http.route'] === '/health')).toEqual([]);
    // The exporter sent OTEL_EXPORTER_OTLP_HEADERS; nothing exported carries the key or the prompt.
    expect(receiver.exports.every((e) => e.headers['x-collector-auth'] === 'collector-secret')).toBe(true);
    for (const e of receiver.exports) {
      const body = e.body.toString('utf8');
      expect(body).not.toContain(key.key);
      expect(body).not.toContain('confidential-prompt-words');
    }

    // Log lines written during the request carry its trace id: the request line among them.
    const lines = s.logs().filter((l) => l.trace_id === traceId);
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ trace_id: traceId, span_id: root.spanId, status: 200 });
  });

  it('follows the caller’s sampling decision: a traceparent flagged unsampled records nothing', async () => {
    const unsampled = randomBytes(16).toString('hex');
    const res = await chat(s.server.url, ENV_KEY, 'tracing-unsampled', { headers: { traceparent: `00-${unsampled}-${randomBytes(8).toString('hex')}-00` } });
    expect(res.status).toBe(200);
    await res.json();
    // A sampled request after it: once its spans are in, the earlier ones would be too.
    const sampled = randomBytes(16).toString('hex');
    await (await chat(s.server.url, ENV_KEY, 'tracing-sampled', { headers: { traceparent: `00-${sampled}-${randomBytes(8).toString('hex')}-01` } })).json();
    await receiver.waitFor((all) => serverSpanOf(all, sampled) !== undefined);
    expect(receiver.spans().filter((x) => x.traceId === unsampled)).toEqual([]);
    expect(s.logs().some((l) => l.trace_id === unsampled)).toBe(false);
    expect(s.logs().some((l) => l.trace_id === sampled)).toBe(true);
  });

  it('traces a stream: a new trace, the attempt span lasting until the stream ended', async () => {
    const before = new Set(receiver.spans().map((x) => x.traceId));
    const answer = Array.from({ length: 12 }, (_, i) => `t${i}`).join(' ');
    fake.script('tracing-stream', { kind: 'plain', answer, interTokenDelayMs: 10 });
    const res = await chat(s.server.url, ENV_KEY, 'tracing-stream please', { stream: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data: [DONE]');

    const spans = await receiver.waitFor((all) => all.some((x) => x.kind === SERVER_KIND && !before.has(x.traceId) && x.attributes['grok2api.model'] === 'grok-4'));
    const root = spans.find((x) => x.kind === SERVER_KIND && !before.has(x.traceId))!;
    expect(root.parentSpanId).toBe('');
    expect(root.attributes).toMatchObject({ 'http.response.status_code': 200, 'grok2api.client_key.id': 'API_KEY', 'grok2api.client_key.name': 'API_KEY' });
    expect(root.events.map((e) => e.name)).toContain('first_byte');
    const mine = spans.filter((x) => x.traceId === root.traceId);
    expect(mine.map((x) => x.name).sort()).toEqual(['POST /v1/chat/completions', 'pool.lease', 'upstream.attempt']);
    const attempt = byName(mine, 'upstream.attempt')[0]!;
    expect(attempt.parentSpanId).toBe(root.spanId);
    expect(attempt.attributes).toMatchObject({ 'grok2api.upstream.transport': 'ws', 'grok2api.upstream.outcome': 'success' });
    expect(attempt.events.map((e) => e.name)).toEqual(['upstream.first_event']);
    expect(s.logs().find((l) => l.msg === 'request' && l.trace_id === root.traceId)).toBeDefined();
  });

  it('traces the Responses and Messages routes the same way (lease and attempt under the request)', async () => {
    const calls: { path: string; route: string; body: unknown; headers: Record<string, string> }[] = [
      { path: '/v1/responses', route: '/v1/responses', body: { model: 'grok-4', input: 'tracing-responses' }, headers: { authorization: `Bearer ${ENV_KEY}` } },
      { path: '/v1/messages', route: '/v1/messages', body: { model: 'grok-4', max_tokens: 64, messages: [{ role: 'user', content: 'tracing-messages' }] }, headers: { 'x-api-key': ENV_KEY } },
    ];
    for (const c of calls) {
      const traceId = randomBytes(16).toString('hex');
      const res = await fetch(s.server.url + c.path, {
        method: 'POST',
        headers: { ...c.headers, 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
        body: JSON.stringify(c.body),
      });
      expect(res.status, c.path).toBe(200);
      await res.json();
      const spans = (await receiver.waitFor((all) => serverSpanOf(all, traceId) !== undefined)).filter((x) => x.traceId === traceId);
      const root = serverSpanOf(spans, traceId)!;
      expect(root.attributes['http.route'], c.path).toBe(c.route);
      expect(byName(spans, 'pool.lease').map((l) => l.parentSpanId)).toEqual([root.spanId]);
      const attempts = byName(spans, 'upstream.attempt');
      expect(attempts.map((a) => a.parentSpanId)).toEqual([root.spanId]);
      expect(attempts[0]!.events.map((e) => e.name)).toEqual(['upstream.first_event']);
    }
  });

  it('ends the spans of a stream the client left: client_aborted on the request, aborted on the attempt', async () => {
    const answer = Array.from({ length: 40 }, (_, i) => `a${i}`).join(' ');
    fake.script('tracing-abort', { kind: 'plain', answer, interTokenDelayMs: 50 });
    const traceId = randomBytes(16).toString('hex');
    const ctl = new AbortController();
    const res = await fetch(`${s.server.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ctl.signal,
      headers: { authorization: `Bearer ${ENV_KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      body: JSON.stringify({ model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'tracing-abort now' }] }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    ctl.abort();

    const spans = (await receiver.waitFor((all) => serverSpanOf(all, traceId) !== undefined && all.some((x) => x.traceId === traceId && x.name === 'upstream.attempt'))).filter(
      (x) => x.traceId === traceId,
    );
    const root = serverSpanOf(spans, traceId)!;
    expect(root.attributes['grok2api.client_aborted']).toBe(true);
    expect(root.events.map((e) => e.name)).toContain('first_byte');
    const attempt = byName(spans, 'upstream.attempt')[0]!;
    expect(attempt.parentSpanId).toBe(root.spanId);
    expect(attempt.attributes['grok2api.upstream.outcome']).toBe('aborted');
  });

  it('records failed attempts with their failure class and why the next one ran', async () => {
    await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-antibot'], tags: ['antibot'] });
    fake.setAccount('trace-antibot', { state: 'antibot' });
    const limited = await s.admin('POST', '/admin/api/keys', { name: 'antibot-only', tags: ['antibot'] }).then((r) => r.json());
    const traceId = randomBytes(16).toString('hex');
    const res = await chat(s.server.url, limited.key, 'tracing-failure', { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const body = await res.json();

    const spans = (await receiver.waitFor((all) => serverSpanOf(all, traceId) !== undefined)).filter((x) => x.traceId === traceId);
    const root = serverSpanOf(spans, traceId)!;
    expect(root.attributes['http.response.status_code']).toBe(res.status);
    const attempts = byName(spans, 'upstream.attempt').sort((a, b) => Number(a.attributes['grok2api.upstream.retry_number']) - Number(b.attributes['grok2api.upstream.retry_number']));
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.map((a) => a.attributes['grok2api.upstream.retry_reason']).slice(0, 2)).toEqual(['none', 'anti_bot']);
    for (const a of attempts) {
      expect(a.parentSpanId).toBe(root.spanId);
      expect(a.statusCode).toBe(ERROR);
      expect(a.attributes['grok2api.upstream.failure_class']).toBe(body.error.code);
      expect(a.attributes['grok2api.upstream.outcome']).toBeUndefined();
    }
    expect(attempts[0]!.attributes).toMatchObject({ 'grok2api.upstream.status': 403, 'grok2api.upstream.transport': 'ws' });
    // The account was tried (refused twice), then none of grok.com's was left, then xAI had none: one lease span each.
    const leases = byName(spans, 'pool.lease').map((l) => [l.attributes['grok2api.provider'], l.attributes['grok2api.lease.result']]);
    expect(leases).toEqual([
      ['grok', 'ok'],
      ['grok', 'none_available'],
      ['xai', 'no_accounts'],
    ]);
    // The pool's warning about the failed attempt is tied to the request's trace.
    expect(s.logs().find((l) => l.msg === 'upstream attempt failed' && l.trace_id === traceId)).toBeDefined();
  });
});

describe('tracing on, the default protocol (OTLP/HTTP protobuf) and a traces-only endpoint', () => {
  it('exports protobuf the receiver decodes into the same tree, flushed by a graceful shutdown; the SDK is loaded', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    // A batch delay far beyond the test: the spans can only arrive through the shutdown's flush.
    const s = await startServer({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '600000' });
    await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-pb-acct'] });
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const res = await chat(s.server.url, ENV_KEY, 'tracing-protobuf', { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    expect(res.status).toBe(200);
    await res.json();
    // The spy sees the SDK when it is used (so its silence below means something).
    expect(s.loaded().some((u) => u.includes('@opentelemetry/sdk-trace-node'))).toBe(true);
    expect(receiver.exports).toEqual([]);
    s.server.child.kill('SIGTERM');
    expect(await s.server.exited, s.server.output().slice(-3000)).toBe(0);

    const spans = receiver.spans().filter((x) => x.traceId === traceId);
    expect(receiver.exports.length).toBeGreaterThan(0);
    expect(receiver.exports.every((e) => e.contentType === 'application/x-protobuf')).toBe(true);
    const root = serverSpanOf(spans, traceId)!;
    expect(root).toBeDefined();
    expect(root.parentSpanId).toBe(parentId);
    expect(root.resource['service.name']).toBe('grok2api');
    expect(root.attributes).toMatchObject({ 'http.route': '/v1/chat/completions', 'http.response.status_code': 200, 'grok2api.model': 'grok-4' });
    expect(root.events.map((e) => e.name)).toContain('first_byte');
    expect(byName(spans, 'pool.lease')[0]!.parentSpanId).toBe(root.spanId);
    const attempt = byName(spans, 'upstream.attempt')[0]!;
    expect(attempt.parentSpanId).toBe(root.spanId);
    expect(attempt.attributes).toMatchObject({ 'grok2api.upstream.retry_number': 0, 'grok2api.upstream.transport': 'ws', 'grok2api.upstream.outcome': 'success' });
    expect(attempt.events.map((e) => e.name)).toEqual(['upstream.first_event']);
  }, 60_000);
});

describe('tracing on, a request waiting in the slot queue', () => {
  it('records the wait on its lease span', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const s = await startServer(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' },
      '[token]\nmax_concurrency_per_account = 1\nqueue_timeout_sec = 20\nsync_on_import = false\nauto_refresh = false\n',
    );
    await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-queue-acct'] });
    const answer = Array.from({ length: 40 }, (_, i) => `q${i}`).join(' ');
    fake.script('tracing-queue', { kind: 'plain', answer, interTokenDelayMs: 30 });
    const ids = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    // The first holds the account's only slot while it streams; the second has to wait for it.
    const first = await chat(s.server.url, ENV_KEY, 'tracing-queue one', { stream: true, headers: { traceparent: `00-${ids[0]}-${randomBytes(8).toString('hex')}-01` } });
    const second = chat(s.server.url, ENV_KEY, 'tracing-queue two', { stream: true, headers: { traceparent: `00-${ids[1]}-${randomBytes(8).toString('hex')}-01` } });
    expect(await first.text()).toContain('[DONE]');
    const res2 = await second;
    expect(res2.status).toBe(200);
    expect(await res2.text()).toContain('[DONE]');

    const spans = await receiver.waitFor((all) => ids.every((id) => serverSpanOf(all, id) !== undefined));
    const leaseOf = (id: string) => spans.filter((x) => x.traceId === id && x.name === 'pool.lease');
    expect(leaseOf(ids[0]!)).toHaveLength(1);
    expect(leaseOf(ids[0]!)[0]!.attributes).not.toHaveProperty('grok2api.lease.queue_wait_ms');
    const waited = leaseOf(ids[1]!);
    expect(waited).toHaveLength(1);
    expect(waited[0]!.attributes).toMatchObject({ 'grok2api.lease.queue_result': 'leased', 'grok2api.lease.result': 'ok' });
    expect(typeof waited[0]!.attributes['grok2api.lease.queue_wait_ms']).toBe('number');
  }, 60_000);
});

describe('tracing off', () => {
  it('with the variables unset: no SDK module loaded, no trace ids, a traceparent is ignored', async () => {
    const s = await startServer({});
    await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-off-acct'] });
    const res = await chat(s.server.url, ENV_KEY, 'tracing-off', { headers: { traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` } });
    expect(res.status).toBe(200);
    await res.json();
    expect(sdkModules(s.loaded())).toEqual([]);
    const requestLines = s.logs().filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(0);
    expect(s.logs().some((l) => 'trace_id' in l || 'span_id' in l)).toBe(false);
  }, 60_000);

  it('with OTEL_SDK_DISABLED=true and an endpoint: nothing exported, no SDK module loaded', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.close());
    const s = await startServer({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' });
    await s.admin('POST', '/admin/api/tokens', { tokens: ['trace-disabled-acct'] });
    const res = await chat(s.server.url, ENV_KEY, 'tracing-disabled');
    expect(res.status).toBe(200);
    await res.json();
    // Well past the 50 ms batch delay an enabled SDK would have exported by.
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.exports).toEqual([]);
    expect(sdkModules(s.loaded())).toEqual([]);
  }, 60_000);
});
