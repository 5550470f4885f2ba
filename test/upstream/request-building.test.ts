import { describe, expect, it } from 'vitest';
import type { NeutralMessage } from '../../src/core/intent.js';
import { flattenMessages } from '../../src/upstream/grok/flatten.js';
import { buildCookie, buildGrokHeaders, clientHints, latin1Safe, normaliseToken } from '../../src/upstream/grok/headers.js';
import { newestChromeProfile } from '../../src/upstream/grok/transport/chrome-identity.js';
import { buildChatPayload } from '../../src/upstream/grok/payload.js';
import { statsigId } from '../../src/upstream/grok/statsig.js';
import { testConfig } from './helpers.js';

const msg = (role: NeutralMessage['role'], ...parts: string[]): NeutralMessage => ({ role, parts });

describe('flattenMessages (docs/upstream-grok.md §2.2)', () => {
  it('labels every paragraph, the last user message too', () => {
    const out = flattenMessages([msg('system', 'Be brief.'), msg('user', 'hi'), msg('assistant', 'Hello!'), msg('user', 'And you?')]);
    expect(out).toBe('[system]: Be brief.\n\n[user]: hi\n\n[assistant]: Hello!\n\n[user]: And you?');
  });

  it('makes each text part its own paragraph and skips blank parts', () => {
    expect(flattenMessages([msg('user', 'first', '  ', 'second')])).toBe('[user]: first\n\n[user]: second');
  });

  it('writes tool results with their call id', () => {
    const out = flattenMessages([
      msg('user', 'weather?'),
      { role: 'tool', parts: ['{"temp":21}'], toolCallId: 'call_1' },
      { role: 'tool', parts: ['no id'] },
    ]);
    expect(out).toBe('[user]: weather?\n\n[tool result for call_1]:\n{"temp":21}\n\n[tool result]:\nno id');
  });
});

describe('buildChatPayload (modeId body, docs/upstream-grok.md §2.1)', () => {
  const grok = testConfig().grok;
  it('emits the keys in the web client order with the leased mode', () => {
    const p = buildChatPayload(grok, '[user]: hi', 'expert');
    expect(Object.keys(p)).toEqual([
      'collectionIds', 'connectors', 'deviceEnvInfo', 'disableMemory', 'disableSearch', 'disableSelfHarmShortCircuit',
      'disableTextFollowUps', 'enableImageGeneration', 'enableImageStreaming', 'enableSideBySide', 'fileAttachments',
      'forceConcise', 'forceSideBySide', 'imageAttachments', 'imageGenerationCount', 'isAsyncChat', 'message', 'modeId',
      'responseMetadata', 'returnImageBytes', 'returnRawGrokInXaiRequest', 'searchAllConnectors', 'sendFinalMetadata',
      'temporary', 'toolOverrides',
    ]);
    expect(p.modeId).toBe('expert');
    expect(p.message).toBe('[user]: hi');
    expect(p.temporary).toBe(true);
    expect(p.disableMemory).toBe(true);
    expect(Object.keys(p.deviceEnvInfo)).toEqual(['darkModeEnabled', 'devicePixelRatio', 'screenHeight', 'screenWidth', 'viewportHeight', 'viewportWidth']);
    expect(JSON.stringify(p)).not.toContain('customPersonality');
  });

  it('follows the config switches and appends customPersonality last', () => {
    const g = testConfig({ grok: { temporary: false, disable_memory: false, custom_instruction: ' Talk like a pirate. ' } }).grok;
    const p = buildChatPayload(g, 'm', 'fast', { fileAttachments: ['file_1'] });
    expect([p.temporary, p.disableMemory, p.fileAttachments]).toEqual([false, false, ['file_1']]);
    expect(Object.keys(p).at(-1)).toBe('customPersonality');
    expect(p.customPersonality).toBe('Talk like a pirate.');
  });
});

describe('headers and cookie (docs/upstream-grok.md §1.2–§1.5)', () => {
  const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.secret-token-value';

  it('builds the P2 cookie, stripping a pasted sso= prefix', () => {
    expect(buildCookie(`sso=${TOKEN}`, '')).toBe(`sso=${TOKEN}; sso-rw=${TOKEN}`);
    expect(buildCookie(TOKEN, 'cf123')).toBe(`sso=${TOKEN}; sso-rw=${TOKEN}; cf_clearance=cf123`);
    expect(buildCookie(TOKEN, 'cf_clearance=cf123')).toBe(`sso=${TOKEN}; sso-rw=${TOKEN}; cf_clearance=cf123`);
    expect(normaliseToken(`  sso=${TOKEN}\n`)).toBe(TOKEN);
  });

  it('puts the token only into Cookie', () => {
    const config = testConfig({ grok: { base_url: 'http://127.0.0.1:9999/prefix' } });
    const h = buildGrokHeaders(config.grok, TOKEN);
    for (const [name, value] of Object.entries(h)) {
      if (name === 'Cookie') expect(value).toContain(TOKEN);
      else expect(value).not.toContain('secret-token-value');
    }
    expect(h.Origin).toBe('http://127.0.0.1:9999');
    expect(h.Referer).toBe('http://127.0.0.1:9999/');
  });

  it('sends a browser-like set with a fresh request id and statsig each time', () => {
    const config = testConfig();
    const newest = newestChromeProfile().slice('chrome_'.length);
    expect(Number(newest)).toBeGreaterThanOrEqual(149);
    const a = buildGrokHeaders(config.grok, TOKEN);
    const b = buildGrokHeaders(config.grok, TOKEN);
    expect(a['x-xai-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a['x-xai-request-id']).not.toBe(b['x-xai-request-id']);
    expect(a).toMatchObject({
      Accept: '*/*',
      'Accept-Encoding': 'gzip, deflate, br',
      'Content-Type': 'application/json',
      Origin: 'https://grok.com',
      Referer: 'https://grok.com/',
      Priority: 'u=1, i',
      // The newest Chrome profile the impersonation library ships, named the same way in all three.
      'Sec-Ch-Ua': `"Google Chrome";v="${newest}", "Chromium";v="${newest}", "Not)A;Brand";v="24"`,
      'Sec-Ch-Ua-Mobile': '?0',
      'Sec-Ch-Ua-Platform': '"macOS"',
      'Sec-Fetch-Site': 'same-origin',
      'User-Agent': `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${newest}.0.0.0 Safari/537.36`,
    });
    // Chrome sends the high-entropy hints only when a server asked for them (Accept-CH).
    expect(a['Sec-Ch-Ua-Arch']).toBeUndefined();
    expect(a.Baggage).toMatch(/^sentry-environment=production,/);
    expect(a).not.toHaveProperty('Authorization');
  });

  it('derives client hints from other user agents', () => {
    const win = clientHints('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/146.0.0.0 Safari/537.36');
    expect(win['Sec-Ch-Ua']).toContain('v="146"');
    expect(win['Sec-Ch-Ua-Platform']).toBe('"Windows"');
    expect(clientHints('Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 Chrome/140.0.0.0 Safari/537.36')['Sec-Ch-Ua-Arch']).toBe('arm');
    expect(clientHints('Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0')).toEqual({});
  });

  it('forces header values to Latin-1', () => {
    expect(latin1Safe('Mozilla “quoted” — dash\u200b…')).toBe('Mozilla "quoted" - dash...');
    expect(latin1Safe('a\r\nInjected: yes')).toBe('aInjected: yes');
    expect(latin1Safe('café 世界')).toBe('café');
  });
});

describe('statsigId (docs/upstream-grok.md §1.4)', () => {
  const decode = (v: string) => Buffer.from(v, 'base64').toString('utf8');
  it('x1: random browser-fallback TypeError forms', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const text = decode(statsigId({ statsig_mode: 'x1', statsig_value: '' }));
      expect(text).toMatch(
        /^x1:TypeError: Cannot read properties of (null \(reading 'children\[\\'[a-z0-9]{5}\\'\]'\)|undefined \(reading '[a-z]{10}'\))$/,
      );
      seen.add(text.includes('null') ? 'null' : 'undefined');
    }
    expect(seen.size).toBe(2);
  });

  it('e: the older form', () => {
    for (let i = 0; i < 16; i++) {
      expect(decode(statsigId({ statsig_mode: 'e', statsig_value: '' }))).toMatch(
        /^e:TypeError: Cannot read properties of (null \(reading 'children\['[a-z0-9]{5}'\]'\)|undefined \(reading '[a-z]{10}'\))$/,
      );
    }
  });

  it('manual: the configured value', () => {
    const value = Buffer.alloc(70, 1).toString('base64');
    expect(statsigId({ statsig_mode: 'manual', statsig_value: value })).toBe(value);
  });
});
