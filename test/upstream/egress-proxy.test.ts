import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';

/**
 * `grok.proxy_url` end to end: every upstream call — REST, the mgw chat socket and the imagine
 * socket, all from the Chrome-impersonating client through the egress relay
 * (src/upstream/grok/transport/) — goes through a real HTTP CONNECT proxy or SOCKS5 server, with
 * credentials.
 */

interface Seen {
  /** host:port of every tunnel opened (CONNECT target or SOCKS5 destination). */
  tunnels: string[];
  /** Requests forwarded without a tunnel (absolute-URI proxying). */
  forwarded: string[];
  /** Attempts refused for bad credentials. */
  refused: number;
}

const pipeBoth = (a: Socket, b: Socket) => {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
};

/** An HTTP proxy (CONNECT and absolute-URI forwarding) that wants `user:pass`. */
async function startConnectProxy(user: string, pass: string): Promise<{ url: string; seen: Seen; close(): Promise<void> }> {
  const seen: Seen = { tunnels: [], forwarded: [], refused: 0 };
  const expected = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const server: HttpServer = createHttpServer((req, res) => {
    if (req.headers['proxy-authorization'] !== expected) {
      seen.refused++;
      res.writeHead(407).end();
      return;
    }
    seen.forwarded.push(req.url ?? '');
    const target = new URL(req.url!);
    target.hostname = resolveHere(target.hostname);
    const up = httpRequest(target, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    if (req.headers['proxy-authorization'] !== expected) {
      seen.refused++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    seen.tunnels.push(req.url ?? '');
    const [host, port] = splitHostPort(req.url ?? '');
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      pipeBoth(client, upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${user}:${pass}@127.0.0.1:${port}`,
    seen,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A SOCKS5 server (RFC 1928 CONNECT; RFC 1929 user/password when `auth` is given). */
async function startSocksServer(auth?: { user: string; pass: string }): Promise<{ port: number; seen: Seen; close(): Promise<void> }> {
  const seen: Seen = { tunnels: [], forwarded: [], refused: 0 };
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (stage === 'greeting') {
          if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
          const methods = [...buf.subarray(2, 2 + buf[1]!)];
          buf = buf.subarray(2 + buf[1]!);
          const method = auth ? 0x02 : 0x00;
          if (!methods.includes(method)) {
            client.end(Buffer.from([0x05, 0xff]));
            return;
          }
          client.write(Buffer.from([0x05, method]));
          stage = auth ? 'auth' : 'request';
        } else if (stage === 'auth') {
          if (buf.length < 2) return;
          const ulen = buf[1]!;
          if (buf.length < 3 + ulen || buf.length < 3 + ulen + buf[2 + ulen]!) return;
          const user = buf.subarray(2, 2 + ulen).toString();
          const plen = buf[2 + ulen]!;
          const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
          buf = buf.subarray(3 + ulen + plen);
          if (user !== auth!.user || pass !== auth!.pass) {
            seen.refused++;
            client.end(Buffer.from([0x01, 0x01]));
            return;
          }
          client.write(Buffer.from([0x01, 0x00]));
          stage = 'request';
        } else if (stage === 'request') {
          if (buf.length < 5) return;
          const type = buf[3]!;
          const addrLen = type === 0x01 ? 4 : type === 0x04 ? 16 : 1 + buf[4]!;
          if (buf.length < 4 + addrLen + 2) return;
          const addr = buf.subarray(4, 4 + addrLen);
          const host = type === 0x01 ? [...addr].join('.') : type === 0x03 ? addr.subarray(1).toString() : '::1';
          const port = buf.readUInt16BE(4 + addrLen);
          const rest = buf.subarray(4 + addrLen + 2);
          stage = 'done';
          client.off('data', onData);
          client.pause();
          seen.tunnels.push(`${host}:${port}`);
          const upstream = connect(port, resolveHere(host), () => {
            client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
            if (rest.length) upstream.write(rest);
            pipeBoth(client, upstream);
            client.resume();
          });
          upstream.on('error', () => client.end(Buffer.from([0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0])));
          return;
        } else {
          return;
        }
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A name only the proxies know: a call that goes around the proxy cannot resolve it and fails,
 * so a passing request proves it went through.
 */
const HIDDEN_HOST = 'grok.invalid';
const resolveHere = (host: string) => (host === HIDDEN_HOST ? '127.0.0.1' : host);

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  return [resolveHere(target.slice(0, at).replace(/^\[|\]$/g, '')), Number(target.slice(at + 1))];
}

const chat = (stack: Stack) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'hello' }] }),
  });

const generateImage = (stack: Stack) =>
  fetch(`${stack.url}/v1/images/generations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-imagine-1.0', prompt: 'a lighthouse', n: 1, response_format: 'b64_json' }),
  });

let fake: FakeGrok;
let fakeHostPort: string;
beforeAll(async () => {
  fake = await startFakeGrok();
  fakeHostPort = new URL(fake.url).host;
});
afterAll(() => fake.close());

describe('grok.proxy_url', () => {
  it('an HTTP CONNECT proxy with credentials carries the mgw chat socket, the imagine socket and the REST calls', async () => {
    const proxy = await startConnectProxy('alice', 's3cret');
    const hidden = fake.url.replace('127.0.0.1', HIDDEN_HOST);
    const stack = await startStack({ fake, overrides: { grok: { base_url: hidden, assets_url: hidden, chat_transport: 'ws', proxy_url: proxy.url } } });
    try {
      await stack.importTokens(['proxy-http-acct']);
      const res = await chat(stack);
      expect(res.status).toBe(200);
      expect((await res.json()).choices[0].message.content).toBeTruthy();
      const img = await generateImage(stack);
      expect(img.status).toBe(200);
      expect((await img.json()).data).toHaveLength(1);
      expect(proxy.seen.refused).toBe(0);
      expect(proxy.seen.tunnels).toContain(`${HIDDEN_HOST}:${new URL(fake.url).port}`);
      const seenByFake = fake.requests.filter((r) => r.cookies.sso === 'proxy-http-acct').map((r) => r.path);
      expect(seenByFake).toContain('/ws/mgw/');
      expect(seenByFake).toContain('/ws/imagine/listen');
    } finally {
      await stack.close();
      await proxy.close();
    }
  });

  it('a SOCKS5 server with user/password (socks5h: the proxy resolves the name) carries chat and images', async () => {
    const socks = await startSocksServer({ user: 'bob', pass: 'pa:ss' });
    const base = fake.url.replace('127.0.0.1', HIDDEN_HOST);
    const stack = await startStack({
      fake,
      overrides: { grok: { base_url: base, assets_url: base, chat_transport: 'ws', proxy_url: `socks5h://bob:${encodeURIComponent('pa:ss')}@127.0.0.1:${socks.port}` } },
    });
    try {
      await stack.importTokens(['proxy-socks-acct']);
      const before = socks.seen.tunnels.length;
      expect((await chat(stack)).status).toBe(200);
      const img = await generateImage(stack);
      expect(img.status).toBe(200);
      expect(socks.seen.refused).toBe(0);
      const tunnels = socks.seen.tunnels.slice(before);
      // At least the chat socket and the imagine socket; names reach the proxy unresolved.
      expect(tunnels.length).toBeGreaterThanOrEqual(2);
      for (const t of tunnels) expect(t).toBe(`${HIDDEN_HOST}:${new URL(fake.url).port}`);
    } finally {
      await stack.close();
      await socks.close();
    }
  });

  it('socks5 without credentials resolves names here; wrong credentials fail the request cleanly', async () => {
    const open = await startSocksServer();
    const stack = await startStack({ fake, overrides: { grok: { chat_transport: 'ws', proxy_url: `socks5://127.0.0.1:${open.port}` } } });
    try {
      await stack.importTokens(['proxy-socks-open']);
      expect((await chat(stack)).status).toBe(200);
      expect(open.seen.tunnels.length).toBeGreaterThanOrEqual(1);
      for (const t of open.seen.tunnels) expect(t).toBe(fakeHostPort);
    } finally {
      await stack.close();
      await open.close();
    }

    const strict = await startSocksServer({ user: 'carol', pass: 'right' });
    const wrong = await startStack({ fake, overrides: { grok: { chat_transport: 'ws', proxy_url: `socks5://carol:wrong@127.0.0.1:${strict.port}` } } });
    try {
      await wrong.importTokens(['proxy-socks-wrong']);
      const res = await chat(wrong);
      expect(res.status).toBe(502);
      const body = await res.json();
      expect(body.error.code).toBe('upstream_unreachable');
      expect(body.error.message).toContain('grok.proxy_url');
      expect(JSON.stringify(body)).not.toContain('proxy-socks-wrong'); // no token in the error
      expect(strict.seen.refused).toBeGreaterThanOrEqual(1);
    } finally {
      await wrong.close();
      await strict.close();
    }
  });
});
