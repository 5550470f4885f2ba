/**
 * A Cloudflare challenge FlareSolverr does not clear: the solver answers, but without a
 * clearance, or with the very clearance that was just refused. The transport then returns the
 * challenge it got (classified upstream_anti_bot, counted against the egress) instead of asking
 * grok.com again with nothing new, which could only fetch the same challenge.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifyHttp } from '../../src/upstream/grok/classify.js';
import { createGrokTransport, type GrokRequest } from '../../src/upstream/grok/transport/index.js';
import { readBounded } from '../../src/upstream/http-client.js';
import { testConfig } from './helpers.js';

const CHALLENGE = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf-chl</body></html>';
const SOLVER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What the fake FlareSolverr answers next (its documented shape: {status, message, solution}). */
let solverAnswer: Record<string, unknown> = {};
let solverCalls = 0;
/** The clearance the site accepts now (null: it challenges everything). */
let accepted: string | null = null;
let siteRequests = 0;
let site: { server: Server; url: string };
let solver: { server: Server; url: string };

beforeAll(async () => {
  site = await listen((req, res) => {
    siteRequests++;
    req.resume();
    const clearance = /cf_clearance=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    if (accepted !== null && clearance === accepted) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    res.writeHead(403, { 'content-type': 'text/html; charset=UTF-8', 'cf-mitigated': 'challenge' }).end(CHALLENGE);
  });
  solver = await listen((req, res) => {
    req.resume();
    req.on('end', () => {
      solverCalls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(solverAnswer));
    });
  });
});
afterAll(async () => {
  site.server.closeAllConnections();
  await new Promise((r) => site.server.close(r));
  await new Promise((r) => solver.server.close(r));
});
beforeEach(() => {
  siteRequests = 0;
  solverCalls = 0;
  accepted = null;
});

const call = (account: string): GrokRequest => ({ method: 'POST', headers: { cookie: `sso=${account}`, 'user-agent': 'x' }, body: '{}', account, headersTimeout: 5000, bodyTimeout: 5000 });

async function transport() {
  const config = testConfig({ grok: { base_url: site.url, flaresolverr_url: solver.url } });
  return createGrokTransport(() => config);
}

describe('an unsolved Cloudflare challenge', () => {
  it.each([
    ['answers ok without a cf_clearance cookie', { status: 'ok', message: 'Challenge solved!', solution: { status: 403, cookies: [{ name: '__cf_bm', value: 'bm' }], userAgent: SOLVER_UA } }, 'no cf_clearance'],
    ['answers an error', { status: 'error', message: 'Error: Error solving the challenge. Timeout after 2.0 seconds.' }, 'Timeout after 2.0 seconds'],
  ])('when the solver %s: one request to grok.com, the challenge comes back as anti-bot, the egress is charged', async (_what, answer, said) => {
    solverAnswer = answer;
    const t = await transport();
    try {
      const res = await t.request(`${site.url}/rest/rate-limits`, call('acct-1'));
      const e = classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
      expect([res.statusCode, e.code, e.effect]).toEqual([403, 'upstream_anti_bot', 'none']);
      expect(solverCalls).toBe(1);
      expect(siteRequests).toBe(1);
      const status = t.egressStatus()[0]!;
      expect(status.lastError).toContain('challenge not solved');
      expect(status.lastError).toContain(said);
    } finally {
      await t.close();
    }
  });

  it('when the solver hands back the clearance that was just refused: no second request', async () => {
    solverAnswer = { status: 'ok', message: 'Challenge solved!', solution: { status: 200, cookies: [{ name: 'cf_clearance', value: 'clear-1' }], userAgent: SOLVER_UA } };
    accepted = 'clear-1';
    const t = await transport();
    try {
      // First challenge (no clearance yet): the solve brings clear-1, so asking again is worth it, and passes.
      const first = await t.request(`${site.url}/rest/rate-limits`, call('acct-2'));
      await readBounded(first.body);
      expect([first.statusCode, solverCalls, siteRequests]).toEqual([200, 1, 2]);

      // Then Cloudflare stops honouring clear-1, and the solver only has clear-1 to offer.
      accepted = null;
      siteRequests = 0;
      const res = await t.request(`${site.url}/rest/rate-limits`, call('acct-2'));
      expect(res.statusCode).toBe(403);
      expect(await readBounded(res.body)).toContain('Just a moment');
      expect(solverCalls).toBe(2);
      expect(siteRequests).toBe(1);
    } finally {
      await t.close();
    }
  });
});
