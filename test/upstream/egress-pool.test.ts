import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrokTransport } from '../../src/upstream/grok/transport/index.js';
import { accountKey, EgressPool } from '../../src/upstream/grok/transport/egress-pool.js';
import { testConfig } from './helpers.js';

/**
 * The egress pool: accounts bound to one egress each (the same choice on every instance, by
 * rendezvous hashing), failover when an egress cannot connect, `{account}` in proxy user names.
 */

describe('EgressPool', () => {
  const urls = ['http://p1.invalid:3128', 'http://p2.invalid:3128', 'socks5h://user-{account}:pw@p3.invalid:1080'];

  it('binds each account to one egress, the same in every pool built from the same list', () => {
    const a = new EgressPool(() => urls);
    const b = new EgressPool(() => [...urls]);
    const used = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const acct = `token-${i}`;
      expect(a.pick(acct).id).toBe(b.pick(acct).id);
      expect(a.pick(acct).id).toBe(a.pick(acct).id);
      used.add(a.pick(acct).id);
    }
    // Spread over all three.
    expect(used.size).toBe(3);
    expect(a.status().reduce((n, s) => n + s.accounts, 0)).toBe(60);
  });

  it('moves only the accounts of an egress that went down, and back once it recovers', () => {
    const pool = new EgressPool(() => urls);
    const accounts = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const before = new Map(accounts.map((t) => [t, pool.pick(t)]));
    const down = before.get('t0')!;
    const now = Date.now();
    for (let i = 0; i < 3; i++) pool.failed(down, 'ECONNREFUSED', now);
    for (const t of accounts) {
      const e = pool.pick(t, now + 1);
      if (before.get(t) === down) expect(e).not.toBe(down);
      else expect(e).toBe(before.get(t));
    }
    expect(pool.status(now + 1).find((s) => s.id === down.id)!.healthy).toBe(false);
    // 30 s later it is tried again.
    expect(pool.pick('t0', now + 31_000)).toBe(down);
  });

  it('fills {account} in a proxy user name with a hash of the account, never the token', () => {
    const pool = new EgressPool(() => [urls[2]!]);
    const url = pool.proxyFor(pool.pick('secret-token'), 'secret-token')!;
    expect(decodeURIComponent(url.username)).toBe(`user-${accountKey('secret-token')}`);
    expect(url.href).not.toContain('secret-token');
    expect(pool.status()[0]!.url).toBe('socks5h://user-{account}:***@p3.invalid:1080'.replace('{account}', '%7Baccount%7D'));
  });
});

describe('egress failover through the relay', () => {
  let target: Server;
  let proxy: Server;
  const tunnels: string[] = [];

  beforeAll(async () => {
    target = createServer((_req, res) => res.end('through'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    // A plain CONNECT proxy.
    proxy = createServer();
    proxy.on('connect', (req, socket) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const up = connect(Number(port), host === 'localhost' ? '127.0.0.1' : host!, () => {
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    target.closeAllConnections();
    await new Promise((r) => target.close(r));
    await new Promise((r) => proxy.close(r));
  });

  it('connects through another egress when the account\'s own cannot connect, and records why', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const dead = 'http://127.0.0.1:1';
    const live = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const base = `http://localhost:${(target.address() as AddressInfo).port}`;
    const config = testConfig({ grok: { base_url: base, proxy_url: '', egress_proxies: [dead, live] } });
    const t = await createGrokTransport(() => config);
    // Find an account bound to the dead egress.
    const pool = new EgressPool(() => [dead, live]);
    const account = Array.from({ length: 50 }, (_, i) => `acct-${i}`).find((a) => pool.pick(a).proxy?.port === '1')!;
    const res = await t.request(`${base}/x`, { method: 'GET', headers: {}, headersTimeout: 5000, bodyTimeout: 5000, account });
    expect(res.statusCode).toBe(200);
    let body = '';
    for await (const c of res.body) body += String(c);
    expect(body).toBe('through');
    expect(tunnels.length).toBeGreaterThan(0);
    const status = t.egressStatus();
    const deadStatus = status.find((s) => s.url.includes(':1'))!;
    expect(deadStatus.failures).toBeGreaterThan(0);
    expect(deadStatus.lastError).toMatch(/ECONNREFUSED|refused/i);
    expect(status.find((s) => s.url === live)!.bytesIn + status.find((s) => s.url === live)!.openConnections).toBeGreaterThan(0);
    await t.close();
  });
});
