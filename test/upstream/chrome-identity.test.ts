import { describe, expect, it } from 'vitest';
import { gatewayHeaders } from '../../src/upstream/grok/mgw-connect.js';
import { createGrokTransport } from '../../src/upstream/grok/transport/index.js';
import { browserIdentity, checkIdentityConfig, chromeProfileNames, newestChromeProfile, profileForUserAgent } from '../../src/upstream/grok/transport/chrome-identity.js';
import { testConfig } from './helpers.js';
import { GrokClient } from '../../src/upstream/grok/client.js';
import type { GrokTransport } from '../../src/upstream/grok/transport/index.js';

const base = { browser_profile: 'chrome', browser_os: 'macos', user_agent: '', identity_per_account: false };
const major = (ua: string) => /Chrome\/(\d+)/.exec(ua)![1];

describe('browser identity', () => {
  it('defaults to the newest Chrome profile, with its own UA and client hints naming the same version', () => {
    const id = browserIdentity(base);
    const v = newestChromeProfile().slice('chrome_'.length);
    expect(id.profile).toBe(newestChromeProfile());
    expect(major(id.userAgent)).toBe(v);
    expect(id.secChUa).toContain(`"Google Chrome";v="${v}"`);
    expect(id.secChUa).toContain(`"Chromium";v="${v}"`);
    expect(id.secChUaPlatform).toBe('"macOS"');
    expect(browserIdentity({ ...base, browser_os: 'windows' }).userAgent).toContain('Windows NT 10.0');
  });

  it('follows a configured User-Agent with the matching profile, or the nearest older one', () => {
    const ua136 = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36';
    const id = browserIdentity({ ...base, user_agent: ua136 });
    expect(id.profile).toBe('chrome_136');
    expect(id.userAgent).toBe(ua136);
    expect(id.secChUa).toContain('v="136"');
    expect(checkIdentityConfig({ ...base, user_agent: ua136 })).toBeUndefined();
    // 122 is not shipped: the nearest older profile, and a warning that says so.
    expect(chromeProfileNames()).not.toContain('chrome_122');
    expect(profileForUserAgent(ua136.replace('136.0', '122.0'))).toBe('chrome_120');
    expect(checkIdentityConfig({ ...base, user_agent: ua136.replace('136.0', '122.0') })).toMatch(/Chrome 122.*chrome_120/);
    expect(checkIdentityConfig({ ...base, user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0' })).toMatch(/not a Chrome User-Agent/);
  });

  it('refuses an unknown profile or OS at start-up with a message naming the choices', async () => {
    expect(() => checkIdentityConfig({ ...base, browser_profile: 'chrome_1' })).toThrow(/not a profile this build ships.*chrome_149/);
    await expect(createGrokTransport(() => testConfig({ grok: { browser_profile: 'chrome_1' } }))).rejects.toThrow(/grok.browser_profile/);
    await expect(createGrokTransport(() => testConfig({ grok: { ca_file: '/nonexistent/ca.pem' } }))).rejects.toThrow(/grok.ca_file/);
  });

  it('gives each account a stable identity of its own with identity_per_account', () => {
    const c = { ...base, identity_per_account: true };
    const ids = Array.from({ length: 40 }, (_, i) => browserIdentity(c, `token-${i}`));
    for (let i = 0; i < 40; i++) expect(browserIdentity(c, `token-${i}`)).toEqual(ids[i]);
    expect(new Set(ids.map((i) => i.profile)).size).toBeGreaterThan(2);
    for (const id of ids) {
      expect(major(id.userAgent)).toBe(id.profile.slice('chrome_'.length));
      expect(id.secChUa).toContain(`v="${id.profile.slice('chrome_'.length)}"`);
    }
  });

  it('puts the identity\'s User-Agent on calls built outside buildGrokHeaders (grok.user_agent may be empty)', () => {
    const config = testConfig();
    expect(config.grok.user_agent).toBe('');
    // The undici fallback sends these headers as they are, so an empty UA would go out.
    expect(gatewayHeaders(new GrokClient(config, {} as GrokTransport), 'tok', 'uid')['User-Agent']).toBe(browserIdentity(config.grok, 'tok').userAgent);
  });
});
