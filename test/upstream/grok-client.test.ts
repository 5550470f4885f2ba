import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { GrokClient } from '../../src/upstream/grok/client.js';
import type { GrokRequest, GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { testConfig } from './helpers.js';

/** A transport that records what it was asked to send. */
function recordingTransport(): GrokTransport & { calls: { url: string; options: GrokRequest }[] } {
  const calls: { url: string; options: GrokRequest }[] = [];
  return {
    name: 'undici',
    calls,
    async request(url, options) {
      calls.push({ url, options });
      throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    },
    openWebSocket: () => {
      throw new Error('not used');
    },
    refreshIdentity: async () => {},
    egressStatus: () => [],
    close: async () => {},
  };
}

describe('GrokClient', () => {
  it('trims the configured URLs once and keeps a path prefix', () => {
    const client = new GrokClient(testConfig({ grok: { base_url: 'http://127.0.0.1:9/prefix//', assets_url: 'http://127.0.0.1:9/assets/' } }), recordingTransport());
    expect(client.baseUrl).toBe('http://127.0.0.1:9/prefix');
    expect(client.url('/rest/rate-limits')).toBe('http://127.0.0.1:9/prefix/rest/rate-limits');
    expect(client.wsUrl('/ws/imagine/listen')).toBe('ws://127.0.0.1:9/prefix/ws/imagine/listen');
    expect(client.origin).toBe('http://127.0.0.1:9');
    expect(client.assetsUrl).toBe('http://127.0.0.1:9/assets');
  });

  it('follows a settings change: the next call uses the new URLs and timeouts', () => {
    let config: Config = testConfig({ grok: { base_url: 'https://one.example/' }, timeout: { first_byte_sec: 5 } });
    const client = new GrokClient(() => config, recordingTransport());
    expect(client.url('/x')).toBe('https://one.example/x');
    expect(client.timeouts.firstByteMs).toBe(5000);
    config = testConfig({ grok: { base_url: 'https://two.example' }, timeout: { first_byte_sec: 7 } });
    expect(client.url('/x')).toBe('https://two.example/x');
    expect(client.wsUrl('/ws/mgw/')).toBe('wss://two.example/ws/mgw/');
    expect(client.timeouts.firstByteMs).toBe(7000);
  });

  it('defaults the request timeouts to first_byte_sec and idle_sec, and keeps explicit ones', async () => {
    const transport = recordingTransport();
    const client = new GrokClient(testConfig({ timeout: { first_byte_sec: 3, idle_sec: 4 } }), transport);
    await client.request('https://grok.example/a', { method: 'GET', headers: {} }).catch(() => {});
    await client.request('https://grok.example/b', { method: 'POST', headers: {}, bodyTimeout: 0 }).catch(() => {});
    expect(transport.calls.map((c) => [c.url, c.options.headersTimeout, c.options.bodyTimeout])).toEqual([
      ['https://grok.example/a', 3000, 4000],
      ['https://grok.example/b', 3000, 0],
    ]);
  });

  it('builds the account headers from the current identity and classifies failures', () => {
    const client = new GrokClient(testConfig({ grok: { cf_clearance: 'cf-v' } }), recordingTransport());
    expect(client.cookie('sso=tok')).toBe('sso=tok; sso-rw=tok; cf_clearance=cf-v');
    expect(client.cookie('tok', false)).toBe('sso=tok; sso-rw=tok');
    expect(client.headers('tok').Cookie).toBe('sso=tok; sso-rw=tok; cf_clearance=cf-v');
    expect(client.userAgent('tok')).toMatch(/Chrome\/\d+/);
    expect(client.classifyHttp(401, '', {}).effect).toBe('invalid');
    expect(client.classifyNetwork(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code).toBe('upstream_unreachable');
  });
});
