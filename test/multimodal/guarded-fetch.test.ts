import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedAddress, FetchRefusedError, guardedFetch, type FetchPolicy } from '../../src/lib/guarded-fetch.js';
import { Allowlist, blockedReason } from '../../src/lib/ip-policy.js';
import { sniffMime } from '../../src/lib/sniff.js';
import { makePng, makeWav, PDF, startFileServer, type FileServer } from './fixtures.js';

const PNG = makePng();
let srv: FileServer;
let hang: (() => void)[] = [];

beforeAll(async () => {
  srv = await startFileServer({
    '/cat.png': (_q, r) => r.writeHead(200, { 'content-type': 'image/png' }).end(PNG),
    '/big': (_q, r) => r.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(2 * 1024 * 1024) }).end(Buffer.alloc(2 * 1024 * 1024)),
    '/big-chunked': (_q, r) => {
      r.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 40; i++) r.write(Buffer.alloc(64 * 1024));
      r.end();
    },
    '/to-metadata': (_q, r) => r.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    '/to-cat': (_q, r) => r.writeHead(301, { location: '/cat.png' }).end(),
    '/loop': (_q, r) => r.writeHead(302, { location: '/loop' }).end(),
    '/hang': (_q, r) => hang.push(() => r.end()),
  });
});
afterAll(async () => {
  for (const h of hang) h();
  await srv.close();
});

const policy = (allow: string[] = [], extra: Partial<FetchPolicy> = {}): FetchPolicy => ({ allowlist: new Allowlist(allow), maxBytes: 1024 * 1024, timeoutMs: 3000, ...extra });

async function refusal(url: string, p = policy()): Promise<string> {
  try {
    await guardedFetch(url, p);
  } catch (e) {
    expect(e).toBeInstanceOf(FetchRefusedError);
    return (e as Error).message;
  }
  throw new Error(`${url} was fetched`);
}

describe('guarded fetch: addresses', () => {
  it.each([
    ['http://127.0.0.1/x.png', 'loopback address 127.0.0.1'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local address 169.254.169.254'],
    ['http://10.1.2.3/', 'private address 10.1.2.3'],
    ['http://172.20.0.1/', 'private address 172.20.0.1'],
    ['http://192.168.1.10/', 'private address 192.168.1.10'],
    ['http://100.64.0.1/', 'carrier-grade NAT address'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[::1]/', 'loopback address ::1'],
    ['http://[::ffff:127.0.0.1]/', 'loopback address'],
    ['http://[::ffff:a9fe:a9fe]/', 'link-local address'],
    ['http://[64:ff9b::a00:1]/', 'private address'],
    ['http://[fe80::1]/', 'link-local address'],
    ['http://[fd00::1]/', 'private (unique local) address'],
    ['http://2130706433/', 'loopback address 127.0.0.1'],
    ['http://0x7f.1/', 'loopback address 127.0.0.1'],
  ])('refuses %s', async (url, why) => {
    const msg = await refusal(url);
    expect(msg).toContain(why);
    expect(msg).toContain('refused');
  });

  it('refuses a DNS name that resolves to loopback (localhost)', async () => {
    const msg = await refusal(`http://localhost:${srv.port}/cat.png`);
    expect(msg).toMatch(/resolves to a loopback address (127\.0\.0\.1|::1)/);
    expect(srv.hits).not.toContain('/cat.png');
  });

  it('refuses non-http schemes and URLs with credentials', async () => {
    expect(await refusal('file:///etc/passwd')).toContain("scheme 'file'");
    expect(await refusal('ftp://example.com/a.png')).toContain("scheme 'ftp'");
    expect(await refusal('http://user:pw@example.com/a.png')).toContain('credentials');
  });

  it('skips refused addresses among public ones and refuses when only refused ones remain', async () => {
    const lookup = async (h: string) =>
      h === 'mixed.test' ? [{ address: '10.0.0.7', family: 4 }, { address: '93.184.216.34', family: 4 }] : [{ address: '192.168.0.9', family: 4 }];
    expect((await checkedAddress(new URL('http://mixed.test/'), policy([], { lookup }))).address).toBe('93.184.216.34');
    await expect(checkedAddress(new URL('http://rebind.test/'), policy([], { lookup }))).rejects.toThrow(/resolves to a private address 192\.168\.0\.9/);
  });

  it('classifies public addresses as allowed', () => {
    expect(blockedReason('8.8.8.8')).toBeNull();
    expect(blockedReason('2606:4700:4700::1111')).toBeNull();
    expect(blockedReason('::ffff:8.8.8.8')).toBeNull();
  });
});

describe('guarded fetch: allowlist, pinning, redirects, limits', () => {
  it('fetches an allowlisted address and returns the bytes intact', async () => {
    const got = await guardedFetch(`${srv.url}/cat.png`, policy(['127.0.0.1']));
    expect(got.data.equals(PNG)).toBe(true);
    expect(got.contentType).toBe('image/png');
  });

  it('accepts allowlisted host names and CIDR ranges', async () => {
    expect((await guardedFetch(`http://localhost:${srv.port}/cat.png`, policy(['localhost']))).data.equals(PNG)).toBe(true);
    expect((await guardedFetch(`${srv.url}/cat.png`, policy(['127.0.0.0/8']))).data.equals(PNG)).toBe(true);
  });

  it('connects to the checked address, not to a second DNS answer', async () => {
    // `pinned.invalid` does not exist in real DNS: the request can only succeed over the checked, pinned IP.
    const got = await guardedFetch(`http://pinned.invalid:${srv.port}/cat.png`, policy(['127.0.0.1'], { lookup: async () => [{ address: '127.0.0.1', family: 4 }] }));
    expect(got.data.equals(PNG)).toBe(true);
  });

  it('re-checks every redirect target', async () => {
    expect(await refusal(`${srv.url}/to-metadata`, policy(['127.0.0.1']))).toContain('link-local address 169.254.169.254');
    expect((await guardedFetch(`${srv.url}/to-cat`, policy(['127.0.0.1']))).data.equals(PNG)).toBe(true);
    expect(await refusal(`${srv.url}/loop`, policy(['127.0.0.1']))).toContain('redirects too many times');
  });

  it('enforces the size limit by Content-Length and while streaming', async () => {
    expect(await refusal(`${srv.url}/big`, policy(['127.0.0.1']))).toContain('larger than 1 MB');
    expect(await refusal(`${srv.url}/big-chunked`, policy(['127.0.0.1']))).toContain('larger than 1 MB');
  });

  it('enforces the time limit', async () => {
    const started = Date.now();
    expect(await refusal(`${srv.url}/hang`, policy(['127.0.0.1'], { timeoutMs: 300 }))).toContain('did not answer within 0.3 s');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('content sniffing', () => {
  it.each([
    [PNG, 'image/png'],
    [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), 'image/jpeg'],
    [Buffer.from('GIF89a\x01\x00', 'latin1'), 'image/gif'],
    [Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'), 'image/webp'],
    [makeWav(), 'audio/wav'],
    [Buffer.from('ID3\x04\x00', 'latin1'), 'audio/mpeg'],
    [Buffer.from('OggS\x00\x02', 'latin1'), 'audio/ogg'],
    [Buffer.from('\x00\x00\x00\x20ftypM4A \x00', 'latin1'), 'audio/mp4'],
    [PDF, 'application/pdf'],
    [Buffer.from('plain words, ünïcode\n'), 'text/plain'],
    [Buffer.from([0x00, 0x01, 0x02, 0xfe, 0x99]), undefined],
  ])('%#: sniffs %s', (bytes, mime) => {
    expect(sniffMime(bytes as Buffer)).toBe(mime);
  });
});
