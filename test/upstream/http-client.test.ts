import { Readable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Agent, ProxyAgent, Socks5ProxyAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { createDispatcher, decodeBody, readBounded } from '../../src/upstream/http-client.js';
import { testConfig } from './helpers.js';

describe('createDispatcher', () => {
  it('is a keep-alive Agent without a proxy', async () => {
    const d = createDispatcher(testConfig());
    expect(d).toBeInstanceOf(Agent);
    await d.close();
  });

  it('uses a ProxyAgent for http(s) proxies and the SOCKS5 agent for socks5/socks5h', async () => {
    const http = createDispatcher(testConfig({ grok: { proxy_url: 'http://user:pass@127.0.0.1:3128' } }));
    expect(http).toBeInstanceOf(ProxyAgent);
    await http.close();
    for (const url of ['socks5://127.0.0.1:1080', 'socks5h://u:p@127.0.0.1:1080']) {
      const socks = createDispatcher(testConfig({ grok: { proxy_url: url } }));
      expect(socks).toBeInstanceOf(Socks5ProxyAgent);
      await socks.close();
    }
  });
});

describe('decodeBody', () => {
  const text = '{"a":"héllo"}\n'.repeat(100);
  for (const [enc, data] of [
    ['gzip', gzipSync(text)],
    ['deflate', deflateSync(text)],
    ['br', brotliCompressSync(text)],
    ['identity', Buffer.from(text)],
    [undefined, Buffer.from(text)],
  ] as const) {
    it(`decodes ${enc ?? 'no encoding'}`, async () => {
      const body = Readable.from([data.subarray(0, 7), data.subarray(7)]);
      expect(await readBounded(decodeBody(body, enc), 1 << 20)).toBe(text);
    });
  }

  it('rejects encodings it cannot decode', () => {
    expect(() => decodeBody(Readable.from([Buffer.from('x')]), 'zstd')).toThrow(/zstd/);
  });

  it('reads only a bounded prefix', async () => {
    expect(await readBounded(Readable.from([Buffer.alloc(100, 0x61), Buffer.alloc(100, 0x62)]), 150)).toBe('a'.repeat(100) + 'b'.repeat(50));
  });
});
