import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/run-doctor.js';
import type { DoctorReport, LayerId } from '../../src/doctor/report.js';
import { redisSettingsBackend } from '../../src/config/redis-settings.js';
import { LocalStore } from '../../src/store/local/local-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { createGrokTransport } from '../../src/upstream/grok/transport/index.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { freePort } from '../helpers/server-process.js';
import { startTlsCapture } from '../helpers/tls-capture.js';
import { testConfig } from '../upstream/helpers.js';

/**
 * The doctor against the fake grok.com through the production transport (wreq-js and its egress
 * relay): a healthy account passes every layer; a dead credential, grok.com's anti-bot refusal, a
 * Cloudflare challenge, a host that does not resolve and a port nobody listens on each stop at
 * their own layer with their own next step. Then the CLI itself, as an operator runs it.
 */

const ROOT = resolve(import.meta.dirname, '../..');
let fake: FakeGrok;
/** `localhost` rather than the fake's 127.0.0.1, so the DNS layer has a name to resolve. */
let base: string;

beforeAll(async () => {
  fake = await startFakeGrok();
  base = fake.url.replace('127.0.0.1', 'localhost');
});

afterAll(async () => {
  await fake.close();
});

async function doctor(token: string, baseUrl = base, grok: Record<string, unknown> = {}): Promise<DoctorReport> {
  const config = testConfig({ grok: { base_url: baseUrl, ...grok }, timeout: { connect_sec: 3, first_byte_sec: 5, idle_sec: 5 } });
  const transport = await createGrokTransport(() => config);
  try {
    return await runDoctor({ config, transport, token });
  } finally {
    await transport.close();
  }
}

const statuses = (r: DoctorReport) => Object.fromEntries(r.layers.map((l) => [l.id, l.status]));
const layerOf = (r: DoctorReport, id: LayerId) => r.layers.find((l) => l.id === id)!;
const firstFailure = (r: DoctorReport) => r.layers.find((l) => l.status === 'fail');

/** A stand-in for grok.com's edge that answers every request with `handler`. */
async function edge(handler: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${(server.address() as AddressInfo).port}`, server };
}

describe('doctor against the fake grok.com', () => {
  it('passes every layer for a healthy account, and says with which identity', async () => {
    const r = await doctor('doctor-healthy-token-0001');
    expect(statuses(r)).toEqual({ dns: 'ok', tcp_tls: 'ok', cloudflare: 'ok', session: 'ok', rate_limits: 'ok', chat_rest: 'ok', chat_ws: 'ok', imagine_ws: 'ok' });
    expect(r.verdict).toBe('ok');
    expect(r.layers.every((l) => l.next === null && l.code === null)).toBe(true);
    expect(r.egress).toBe('direct');
    expect(r.client).toMatchObject({ transport: 'wreq', alpn: ['h2', 'http/1.1'], websocket_alpn: ['http/1.1'] });
    expect(r.client.profile).toMatch(/^chrome_\d+$/);
    expect(r.client.user_agent).toContain(`Chrome/${r.client.profile!.slice('chrome_'.length)}.`);
    expect(layerOf(r, 'dns').seen).toMatch(/^localhost → /);
    expect(layerOf(r, 'tcp_tls').seen).toContain(`impersonating ${r.client.profile}`);
    expect(layerOf(r, 'rate_limits').seen).toContain('fast: 30 of 30 left');
    expect(layerOf(r, 'chat_rest').seen).toContain(fake.defaultAnswer);
    expect(layerOf(r, 'chat_ws').seen).toContain(fake.defaultAnswer);
    // One short turn on each transport, nothing more.
    const turns = fake.requests.filter((q) => q.token === 'doctor-healthy-token-0001' && (q.path.startsWith('/rest/app-chat/conversations') || q.path === '/ws/mgw/'));
    expect(turns.map((q) => q.path).sort()).toEqual(['/rest/app-chat/conversations/new', '/ws/mgw/']);
    expect(JSON.stringify(r)).not.toContain('doctor-healthy-token-0001');
  });

  it('over TLS, reports the handshake and the identity the server actually saw, and warns about Node\'s own TLS', async () => {
    // https://localhost in front of the fake: records each ClientHello, then forwards.
    const capture = await startTlsCapture({ backend: fake.url });
    try {
      const r = await doctor('doctor-tls-token-0001', capture.url, { ca_file: capture.caFile });
      expect(r.verdict).toBe('ok');
      expect(r.layers.every((l) => l.status === 'ok')).toBe(true);
      expect(layerOf(r, 'tcp_tls').seen).toContain('TLS handshake done');
      const navigation = capture.carrying('/')[0]!;
      expect(navigation.sni).toBe('localhost');
      expect(navigation.alpnOffered).toEqual(r.client.alpn);
      expect(navigation.ja4).toBe('t13d1516h2_8daaf6152771_d8a2da3f94cd');
      expect(capture.carrying('/ws/imagine/listen')[0]!.alpnOffered).toEqual(r.client.websocket_alpn);

      // Node's own TLS works, but is no browser's: a warning that says how to get Chrome's.
      const seen = capture.connections.length;
      const node = await doctor('doctor-tls-token-0002', capture.url, { ca_file: capture.caFile, http_client: 'undici' });
      expect([node.verdict, layerOf(node, 'tcp_tls').status]).toEqual(['warn', 'warn']);
      expect(layerOf(node, 'tcp_tls').next).toContain('grok.http_client = "wreq"');
      expect(node.client).toMatchObject({ transport: 'undici', profile: null, alpn: ['http/1.1'], websocket_alpn: [] });
      expect(capture.carrying('/', seen)[0]!.ja4).toMatch(/^t13d59/);
    } finally {
      await capture.close();
    }
  });

  it('fails an account whose token grok.com rejects, with the re-import advice, and tries nothing above', async () => {
    fake.setAccount('doctor-invalid-token-0001', { state: 'invalid' });
    const r = await doctor('doctor-invalid-token-0001');
    expect(r.verdict).toBe('fail');
    // The fake's /api/auth/session answers any token (its refusals are at the endpoints), so the
    // first authenticated REST call is where the credential is refused.
    const failed = firstFailure(r)!;
    expect([failed.id, failed.code]).toEqual(['rate_limits', 'upstream_auth_failed']);
    expect(failed.next).toMatch(/sso cookie and import it again/);
    expect(statuses(r)).toMatchObject({ chat_rest: 'skip', chat_ws: 'skip', imagine_ws: 'skip' });
    expect(r.summary).toBe(`Failed at Rate limits: ${failed.next}`);
  });

  it('fails the session layer when grok.com says the session is unauthenticated', async () => {
    const { url, server } = await edge((req, res) => {
      if (req.url === '/api/auth/session') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"unauthenticated"}');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Grok</title>');
    });
    const r = await doctor('doctor-signed-out-token-01', url);
    server.close();
    expect(statuses(r)).toEqual({ dns: 'ok', tcp_tls: 'ok', cloudflare: 'ok', session: 'fail', rate_limits: 'skip', chat_rest: 'skip', chat_ws: 'skip', imagine_ws: 'skip' });
    expect(layerOf(r, 'session')).toMatchObject({ code: 'upstream_auth_failed', next: expect.stringMatching(/import it again/) });
  });

  it("fails an account grok.com's anti-bot rules refuse, with advice about the egress, not the account", async () => {
    fake.setAccount('doctor-antibot-token-0001', { state: 'antibot' });
    const r = await doctor('doctor-antibot-token-0001');
    const failed = firstFailure(r)!;
    expect([failed.id, failed.code]).toEqual(['rate_limits', 'upstream_anti_bot']);
    expect(failed.next).toMatch(/anti-bot rules refused the request through egress direct \(code 7; the account is not at fault\)/);
    expect(failed.next).toContain('FLARESOLVERR_URL');
    // Not a shared failure: each chat transport is still tried and reports it too.
    expect([layerOf(r, 'chat_rest').code, layerOf(r, 'chat_ws').code]).toEqual(['upstream_anti_bot', 'upstream_anti_bot']);
  });

  it('fails the Cloudflare layer on a challenge page and says how to get a clearance', async () => {
    const { url, server } = await edge((_req, res) =>
      res.writeHead(403, { 'content-type': 'text/html; charset=UTF-8', 'cf-mitigated': 'challenge', 'cf-ray': '8f00doctor-AMS', server: 'cloudflare' }).end('<!DOCTYPE html><title>Just a moment...</title>'),
    );
    const r = await doctor('doctor-challenged-token-1', url);
    server.close();
    expect(statuses(r)).toMatchObject({ tcp_tls: 'ok', cloudflare: 'fail', session: 'skip', imagine_ws: 'skip' });
    const cf = layerOf(r, 'cloudflare');
    expect(cf.seen).toContain('cf-mitigated: challenge');
    expect(cf.seen).toContain('cf-ray 8f00doctor-AMS');
    expect(cf.next).toBe('Cloudflare challenged egress direct: set FLARESOLVERR_URL, or set grok.cf_clearance and grok.user_agent from a browser on the same IP, or use another egress (grok.egress_proxies).');
  });

  it('shows a clearance FlareSolverr obtained, and what it said when it could not', async () => {
    const solverUa = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
    let solves = true;
    // A FlareSolverr as documented: POST /v1 {cmd: "request.get"} → {status, message, solution}.
    const solver = await edge((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = solves
          ? { status: 'ok', message: 'Challenge solved!', solution: { status: 200, cookies: [{ name: 'cf_clearance', value: 'solved-doctor' }], userAgent: solverUa } }
          : { status: 'error', message: 'Error: Error solving the challenge. Timeout after 2.0 seconds.' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    const site = await edge((req, res) => {
      const cleared = /cf_clearance=solved-doctor/.test(req.headers.cookie ?? '') && req.headers['user-agent'] === solverUa;
      if (!cleared) return res.writeHead(403, { 'content-type': 'text/html', 'cf-mitigated': 'challenge', server: 'cloudflare' }).end('<title>Just a moment...</title>');
      res.writeHead(200, { 'content-type': 'text/html', 'cf-ray': '8f00doctor-FRA', server: 'cloudflare' }).end('<!doctype html><title>Grok</title>');
    });
    try {
      const solved = await doctor('doctor-solver-token-0001', site.url, { flaresolverr_url: solver.url });
      const cf = layerOf(solved, 'cloudflare');
      expect(cf.status).toBe('ok');
      expect(cf.seen).toContain('FlareSolverr cleared a challenge for this request.');
      expect(cf.seen).toContain(`Cloudflare cookies held for this egress: cf_clearance (issued to "${solverUa}")`);
      // From then on the egress speaks as the browser the clearance was issued to.
      expect(solved.client).toMatchObject({ user_agent: solverUa, profile: 'chrome_142', os: 'linux' });

      solves = false;
      const refused = await doctor('doctor-solver-token-0002', site.url, { flaresolverr_url: solver.url });
      const failed = layerOf(refused, 'cloudflare');
      expect(failed.status).toBe('fail');
      expect(failed.seen).toContain('challenge not solved: FlareSolverr could not solve the challenge: Error: Error solving the challenge. Timeout after 2.0 seconds.');
      expect(failed.next).toMatch(new RegExp(`^Cloudflare challenged egress direct and FlareSolverr \\(${solver.url}\\) did not clear it`));
    } finally {
      solver.server.close();
      site.server.close();
    }
  });

  it('fails DNS for a host that does not resolve, and TCP for a port nobody listens on', async () => {
    const unresolvable = await doctor('doctor-unreachable-token', 'https://doctor-check.invalid');
    expect(statuses(unresolvable)).toMatchObject({ dns: 'fail', tcp_tls: 'skip', imagine_ws: 'skip' });
    expect(layerOf(unresolvable, 'dns').seen).toContain('doctor-check.invalid does not resolve');

    const port = await freePort();
    const refused = await doctor('doctor-unreachable-token', `http://127.0.0.1:${port}`);
    expect(statuses(refused)).toMatchObject({ dns: 'skip', tcp_tls: 'fail', cloudflare: 'skip', session: 'skip' });
    const tcp = layerOf(refused, 'tcp_tls');
    expect(tcp.code).toBe('upstream_unreachable');
    expect(tcp.seen).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(tcp.next).toBe(`Nothing accepts connections at 127.0.0.1:${port}: check the port in grok.base_url, or route through an egress proxy (PROXY_URL) if a firewall rejects the connection.`);
    expect(refused.summary).toBe(`Failed at TCP + TLS: ${tcp.next}`);
  });

  it('blames the egress proxy when it is the one that cannot be reached, without showing its password', async () => {
    const port = await freePort();
    const r = await doctor('doctor-proxied-token-001', 'https://doctor-check.invalid', { proxy_url: `http://alice:pw-secret@127.0.0.1:${port}` });
    // An HTTP proxy resolves grok.com's name itself: a local DNS failure is only a warning.
    expect(statuses(r)).toMatchObject({ dns: 'warn', tcp_tls: 'fail', cloudflare: 'skip' });
    expect(r.egress).toBe(`http://alice:***@127.0.0.1:${port}`);
    expect(layerOf(r, 'tcp_tls').next).toBe(`The connection was refused through the egress proxy http://alice:***@127.0.0.1:${port}: check that the proxy runs and that its URL (host and port) is right.`);
    expect(JSON.stringify(r)).not.toContain('pw-secret');

    // A proxy that wants other credentials (407 to the CONNECT).
    const proxy = createServer();
    proxy.on('connect', (_req, socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="p"\r\n\r\n'));
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    const masked = `http://alice:***@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const refused = await doctor('doctor-proxied-token-002', base, { proxy_url: masked.replace('***', 'pw-secret') });
    proxy.close();
    expect(layerOf(refused, 'tcp_tls')).toMatchObject({ status: 'fail', next: `The egress proxy ${masked} refused the credentials: check the user and password in its URL.` });
    expect(layerOf(refused, 'tcp_tls').seen).toContain('proxy refused CONNECT (407)');
  });
});

/** Runs `npm run doctor`'s entry with only PATH and `env` from the environment. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/doctor/cli.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('npm run doctor', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'g2a-doctor-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints the JSON report and exits 0 for a healthy token, 1 with the text report for a refused one', async () => {
    const env = { DATA_DIR: dataDir, GROK_BASE_URL: base };
    const ok = await cli(['--json'], { ...env, DOCTOR_SSO_TOKEN: 'sso=doctor-cli-healthy-0001' });
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout) as DoctorReport;
    expect(report.verdict).toBe('ok');
    expect(report.layers).toHaveLength(8);

    fake.setAccount('doctor-cli-invalid-0001', { state: 'invalid' });
    const bad = await cli(['--token', 'doctor-cli-invalid-0001'], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}Rate limits +grok\.com rejected the account's credentials/);
    expect(bad.stdout).toContain('→ grok.com rejects this account');
    expect(bad.stdout).toMatch(/\nVerdict: FAIL — Failed at Rate limits: /);
  }, 30_000);

  it('checks the first active account of the local store when no token is given', async () => {
    const store = new LocalStore({ dataDir });
    await store.init();
    const { added } = await store.importAccounts([{ token: 'doctor-cli-stored-0001' }, { token: 'doctor-cli-stored-0002' }]);
    await store.updateAccount(added[0]!.id, { status: 'disabled' });
    await store.close();
    const run = await cli(['--json'], { DATA_DIR: dataDir, GROK_BASE_URL: base });
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as DoctorReport).account.id).toBe(added[1]!.id);

    const empty = mkdtempSync(join(tmpdir(), 'g2a-doctor-empty-'));
    const none = await cli([], { DATA_DIR: empty, GROK_BASE_URL: base });
    rmSync(empty, { recursive: true, force: true });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no active account in the local store; import one, or pass --token <sso>');
  }, 30_000);

  it('takes the account and the runtime settings from Redis storage', async () => {
    await assertRedisUp();
    const prefix = uniquePrefix('doctor');
    const store = new RedisStore({ url: TEST_REDIS_URL, prefix });
    await store.init();
    try {
      const { added } = await store.importAccounts([{ token: 'doctor-cli-redis-0001' }]);
      // A User-Agent set in the console: the doctor must present the same identity as the server.
      const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36';
      await redisSettingsBackend(store).persist({ grok: { user_agent: ua } });
      const run = await cli(['--json'], { DATA_DIR: dataDir, GROK_BASE_URL: base, SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix });
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as DoctorReport;
      expect(report.account.id).toBe(added[0]!.id);
      expect(report.client).toMatchObject({ user_agent: ua, profile: 'chrome_136' });
    } finally {
      await store.close();
      await dropPrefix(TEST_REDIS_URL, prefix);
    }
  }, 30_000);
});
