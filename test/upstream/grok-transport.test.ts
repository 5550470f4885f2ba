import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { classifyHttp } from '../../src/upstream/grok/classify.js';
import { readBounded } from '../../src/upstream/http-client.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { testConfig } from './helpers.js';

/**
 * The production grok.com transport (wreq-js through the egress relay) against a local server:
 * incremental streaming, aborts that close the upstream connection at once, 50 concurrent
 * streams, no cookie shared between accounts, and Cloudflare challenges solved through a fake
 * FlareSolverr that behaves as its documentation says (POST /v1, cmd request.get → solution).
 */

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('{}');
let server: Server;
let base = '';
/** Per request id (?n=…): when the server saw its connection close. */
const closedAt = new Map<string, number>();
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    const n = new URL(req.url ?? '/', 'http://x').searchParams.get('n');
    if (n) res.on('close', () => closedAt.set(n, performance.now()));
    handler(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://localhost:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

afterEach(() => {
  seen.length = 0;
});

/** NDJSON lines every `gapMs`, up to `count`, until the client goes away. */
const ndjson = (count: number, gapMs: number): Handler => (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  let i = 0;
  const timer = setInterval(() => {
    if (i >= count) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(`${JSON.stringify({ i: i++ })}\n`);
  }, gapMs);
  res.on('close', () => clearInterval(timer));
};

async function transport(over: Record<string, Record<string, unknown>> = {}): Promise<{ t: GrokTransport; config: Config }> {
  const config = testConfig({ grok: { base_url: base }, ...over });
  return { t: await createGrokTransport(() => config), config };
}

const opts = (extra: Record<string, unknown> = {}) => ({ method: 'GET' as const, headers: { accept: '*/*' }, headersTimeout: 5000, bodyTimeout: 5000, ...extra });

describe('grok.com transport (wreq)', () => {
  it('is the Chrome-impersonating client by default', async () => {
    const { t } = await transport();
    expect(t.name).toBe('wreq');
    await t.close();
  });

  it('hands a streamed body over as it arrives', async () => {
    const { t } = await transport();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"first":true}\n');
      void gate.then(() => res.end('{"last":true}\n'));
    };
    const res = await t.request(`${base}/s`, opts({ stream: true }));
    const it = res.body[Symbol.asyncIterator]();
    // The first line is delivered while the server still holds the rest back.
    expect(String((await it.next()).value)).toBe('{"first":true}\n');
    release();
    expect(String((await it.next()).value)).toBe('{"last":true}\n');
    await t.close();
  });

  it('closes the upstream connection within 50 ms (p99) when the caller lets go of a stream', async () => {
    const { t } = await transport();
    handler = ndjson(400, 20);
    const delays: number[] = [];
    for (let k = 0; k < 20; k++) {
      const n = `abort-${k}`;
      const controller = new AbortController();
      const res = await t.request(`${base}/s?n=${n}`, opts({ stream: true, signal: controller.signal }));
      const it = res.body[Symbol.asyncIterator]();
      await it.next();
      const cutAt = performance.now();
      // Alternate the two ways a turn ends early: the client's abort signal, and destroying the body.
      if (k % 2) controller.abort();
      else res.body.destroy();
      const deadline = Date.now() + 2000;
      while (!closedAt.has(n) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      expect(closedAt.has(n)).toBe(true);
      delays.push(closedAt.get(n)! - cutAt);
    }
    delays.sort((a, b) => a - b);
    const p99 = delays[Math.ceil(delays.length * 0.99) - 1]!;
    expect(p99).toBeLessThan(50);
    await t.close();
  });

  it('stops a request still waiting for headers when aborted', async () => {
    const { t } = await transport();
    handler = () => {}; // never answers
    const controller = new AbortController();
    const pending = t.request(`${base}/s?n=hang`, opts({ stream: true, signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 50));
    const cutAt = performance.now();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    const deadline = Date.now() + 2000;
    while (!closedAt.has('hang') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    expect(closedAt.get('hang')! - cutAt).toBeLessThan(50);
    await t.close();
  });

  it("rejects with the caller's abort reason, so a timeout signal stays a timeout", async () => {
    const { t } = await transport();
    handler = () => {}; // never answers
    const e = await t.request(`${base}/s`, opts({ signal: AbortSignal.timeout(100) })).catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'TimeoutError' });
    await t.close();
  });

  it('times out a silent upstream with the classifier-known codes', async () => {
    const { t } = await transport();
    handler = () => {};
    await expect(t.request(`${base}/s`, opts({ headersTimeout: 100 }))).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    handler = (_req, res) => {
      res.writeHead(200);
      res.write('x');
    };
    const res = await t.request(`${base}/s`, opts({ bodyTimeout: 100 }));
    await expect(readAll(res.body)).rejects.toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    await t.close();
  });

  it('carries 50 concurrent streams to the end', async () => {
    const { t } = await transport();
    handler = ndjson(10, 10);
    const bodies = await Promise.all(
      Array.from({ length: 50 }, async (_, k) => readAll((await t.request(`${base}/s?c=${k}`, opts({ stream: true, account: `acct-${k % 5}` }))).body)),
    );
    for (const b of bodies) expect(b.trim().split('\n')).toHaveLength(10);
    await t.close();
  });

  it('sends only the cookies it is given: nothing set for one account reaches another', async () => {
    const { t } = await transport();
    handler = (req, res) => {
      res.setHeader('set-cookie', ['session-a=leaky; Path=/', '__cf_bm=bm1; Path=/']);
      res.end(JSON.stringify({ cookie: req.headers.cookie ?? null }));
    };
    const a = await t.request(`${base}/c`, opts({ headers: { cookie: 'sso=A' }, account: 'A' }));
    await readAll(a.body);
    const b = await t.request(`${base}/c`, opts({ headers: { cookie: 'sso=B' }, account: 'B' }));
    const cookieB = JSON.parse(await readAll(b.body)).cookie as string;
    expect(cookieB).toContain('sso=B');
    expect(cookieB).not.toContain('sso=A');
    expect(cookieB).not.toContain('session-a');
    // Cloudflare's cookies belong to the egress (the same IP), so they do come back.
    expect(cookieB).toContain('__cf_bm=bm1');
    await t.close();
  });
});

describe('Cloudflare challenges', () => {
  const CHALLENGE = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-chl</body></html>';

  it('classifies a challenge as upstream_anti_bot naming the egress, never the account', async () => {
    const { t } = await transport();
    handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html; charset=UTF-8', 'cf-mitigated': 'challenge' });
      res.end(CHALLENGE);
    };
    const res = await t.request(`${base}/rest/rate-limits`, opts({ method: 'POST', body: '{}' }));
    const e = classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    expect([e.code, e.effect, e.disposition]).toEqual(['upstream_anti_bot', 'none', 'retry-other']);
    expect(e.message).toContain('through egress direct');
    expect(e.message).toContain('FLARESOLVERR_URL');
    await t.close();
  });

  it('solves a challenge through FlareSolverr once, then sends the clearance with the solver\'s User-Agent', async () => {
    const solverUa = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
    const solverCalls: Record<string, unknown>[] = [];
    const solver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        solverCalls.push({ path: req.url, ...JSON.parse(body) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          status: 'ok',
          message: 'Challenge solved!',
          solution: { url: JSON.parse(body).url, status: 200, cookies: [{ name: 'cf_clearance', value: 'solved-123', domain: 'localhost' }, { name: 'other', value: 'x' }], userAgent: solverUa },
        }));
      });
    });
    await new Promise<void>((r) => solver.listen(0, '127.0.0.1', r));
    const solverUrl = `http://127.0.0.1:${(solver.address() as AddressInfo).port}`;
    const { t, config } = await transport({ grok: { base_url: base, flaresolverr_url: solverUrl } });
    handler = (req, res) => {
      const passes = /cf_clearance=solved-123/.test(req.headers.cookie ?? '') && req.headers['user-agent'] === solverUa;
      if (!passes) {
        res.writeHead(403, { 'content-type': 'text/html', 'cf-mitigated': 'challenge' });
        res.end(CHALLENGE);
        return;
      }
      res.end(JSON.stringify({ ok: true, chUa: req.headers['sec-ch-ua'] }));
    };
    const headers = { 'user-agent': 'ignored', 'sec-ch-ua': 'x', 'sec-ch-ua-mobile': '?0', 'sec-ch-ua-platform': 'x', cookie: 'sso=T' };
    const first = await t.request(`${base}/rest/rate-limits`, opts({ method: 'POST', body: '{}', headers, account: 'T' }));
    expect(first.statusCode).toBe(200);
    const j = JSON.parse(await readAll(first.body));
    // The client hints follow the solver's Chrome version, so UA, hints and TLS profile agree.
    expect(j.chUa).toContain('v="142"');
    expect(solverCalls).toHaveLength(1);
    expect(solverCalls[0]).toMatchObject({ path: '/v1', cmd: 'request.get', url: `${new URL(config.grok.base_url).origin}/` });
    // Later requests through the same egress carry the clearance without asking the solver again.
    const again = await t.request(`${base}/rest/rate-limits`, opts({ method: 'POST', body: '{}', headers, account: 'U' }));
    expect(again.statusCode).toBe(200);
    await readAll(again.body);
    expect(solverCalls).toHaveLength(1);
    const status = t.egressStatus()[0]!;
    expect(status.cloudflare).toMatchObject({ userAgent: solverUa });
    expect(status.cloudflare.cookies).toContain('cf_clearance');
    await t.close();
    await new Promise((r) => solver.close(r));
  });
});

async function readAll(body: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const c of body) s += String(c);
  return s;
}

