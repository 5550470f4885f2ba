import { randomUUID } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { ACCEPT_ENCODING } from '../http-client.js';
import { statsigId } from './statsig.js';
import { browserIdentity, type BrowserIdentity, type BrowserIdentityConfig } from './transport/chrome-identity.js';

/**
 * Browser-like request headers for grok.com's REST API, in the style of the P2 generation
 * (docs/upstream-grok.md §1.2–§1.5): what Chrome on grok.com sends for a fetch(), with client
 * hints derived from the configured User-Agent so the two never contradict each other. The
 * token only ever goes into `Cookie`.
 */

type GrokHeaderConfig = Pick<Config['grok'], 'base_url' | 'cf_clearance' | 'statsig_mode' | 'statsig_value'> & BrowserIdentityConfig;

/** Sentry baggage the grok.com web bundle attaches (P1/P2 send this exact value). */
const BAGGAGE =
  'sentry-environment=production,sentry-release=d6add6fb0460641fd482d767a335ef72b9b6abb8,sentry-public_key=b311e0f2690c81f25e2c4cf6d4f7ce1c';
const ACCEPT_LANGUAGE = 'zh-CN,zh;q=0.9,en;q=0.8';

/** Typographic characters a copy-pasted config value may carry, and their ASCII stand-ins. */
const LATIN1_REPLACEMENTS: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'",
  '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"',
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u2026': '...', '\u00a0': ' ', '\u2002': ' ', '\u2003': ' ', '\u2009': ' ',
};

/**
 * A header value HTTP can carry: typographic quotes/dashes become ASCII, zero-width and control
 * characters (CR/LF included, so nothing can inject a header) are dropped, and anything else
 * outside Latin-1 is removed. Plain ASCII — the common case — is returned as is.
 */
export function latin1Safe(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    const rep = LATIN1_REPLACEMENTS[ch];
    if (rep !== undefined) out += rep;
    else if (code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0xa1 && code <= 0xff)) out += ch;
    // everything else (controls, zero-width U+200B–U+200D/U+2060/U+FEFF, non-Latin-1) is dropped
  }
  return out.trim();
}

/** The bare sso value: users paste `sso=…` as often as the value itself. */
export function normaliseToken(token: string): string {
  const t = token.trim();
  return latin1Safe(t.startsWith('sso=') ? t.slice(4) : t);
}

/** `sso=<tok>; sso-rw=<tok>` plus `; cf_clearance=<v>` when configured (docs/upstream-grok.md §1.2, P2). */
export function buildCookie(token: string, cfClearance: string): string {
  const tok = normaliseToken(token);
  let cookie = `sso=${tok}; sso-rw=${tok}`;
  let cf = latin1Safe(cfClearance.trim());
  if (cf.startsWith('cf_clearance=')) cf = cf.slice('cf_clearance='.length);
  if (cf) cookie += `; cf_clearance=${cf}`;
  return cookie;
}

/**
 * Chromium client hints for a User-Agent (docs/upstream-grok.md §1.3, P2): brand and major version from the UA,
 * platform from the OS part, `x86` unless the UA says arm. Non-Chromium UAs get none, as a
 * real Firefox or Safari would send none.
 */
export function clientHints(userAgent: string): Record<string, string> {
  const chrome = /(?:Chrome|CriOS)\/(\d+)/.exec(userAgent);
  if (!chrome) return {};
  const edge = /Edg\w*\/(\d+)/.exec(userAgent);
  const version = edge?.[1] ?? chrome[1];
  const brand = edge ? 'Microsoft Edge' : 'Google Chrome';
  const platform = /Windows/.test(userAgent)
    ? 'Windows'
    : /Android/.test(userAgent)
      ? 'Android'
      : /iPhone|iPad|iOS/.test(userAgent)
        ? 'iOS'
        : /Mac OS X|Macintosh/.test(userAgent)
          ? 'macOS'
          : /CrOS/.test(userAgent)
            ? 'Chrome OS'
            : /Linux/.test(userAgent)
              ? 'Linux'
              : 'Unknown';
  return {
    'Sec-Ch-Ua': `"${brand}";v="${version}", "Chromium";v="${chrome[1]}", "Not(A:Brand";v="24"`,
    'Sec-Ch-Ua-Arch': /arm|aarch64/i.test(userAgent) ? 'arm' : 'x86',
    'Sec-Ch-Ua-Bitness': '64',
    'Sec-Ch-Ua-Mobile': /Mobile/.test(userAgent) ? '?1' : '?0',
    'Sec-Ch-Ua-Model': '',
    'Sec-Ch-Ua-Platform': `"${platform}"`,
  };
}

/** The identity headers of a Chrome identity: its UA and low-entropy client hints. */
function hintsOf(id: BrowserIdentity): Record<string, string> {
  return {
    'Sec-Ch-Ua-Platform': id.secChUaPlatform,
    'User-Agent': latin1Safe(id.userAgent),
    'Sec-Ch-Ua': id.secChUa,
    'Sec-Ch-Ua-Mobile': id.secChUaMobile,
  };
}

/** The identity headers of the impersonated Chrome (UA and low-entropy client hints), for an account. */
export function identityHeaders(grok: BrowserIdentityConfig, token?: string): Record<string, string> {
  return hintsOf(browserIdentity(grok, token));
}

/** The User-Agent the account's requests carry (the transport's identity; never `grok.user_agent` raw, which may be empty). */
export function userAgentFor(grok: BrowserIdentityConfig, token?: string): string {
  return latin1Safe(browserIdentity(grok, token).userAgent);
}

/**
 * What a browser's same-origin `fetch()` from a grok.com page sends besides its own headers:
 * priority, referer, the client hints and user agent of `id`, and the Sec-Fetch triple.
 */
export function sameOriginFetch(origin: string, id: BrowserIdentity): Record<string, string> {
  return {
    ...hintsOf(id),
    Priority: 'u=1, i',
    Referer: `${origin}/`,
    'Sec-Fetch-Dest': 'empty',
    'Sec-Fetch-Mode': 'cors',
    // Origin and Referer are both the configured base URL, so the fetch is always same-origin.
    'Sec-Fetch-Site': 'same-origin',
  };
}

interface StaticHeaders {
  before: Record<string, string>;
  after: Record<string, string>;
}

/** The per-config, per-identity constant part (config objects are immutable; identities are few). */
const staticCache = new WeakMap<object, Map<string, StaticHeaders>>();

function staticHeaders(grok: GrokHeaderConfig, token: string): StaticHeaders {
  const id = browserIdentity(grok, token);
  let byId = staticCache.get(grok);
  if (!byId) staticCache.set(grok, (byId = new Map()));
  const key = `${id.profile}|${id.os}|${id.userAgent}`;
  let s = byId.get(key);
  if (s) return s;
  const origin = new URL(grok.base_url).origin;
  s = {
    before: {
      Accept: '*/*',
      'Accept-Encoding': ACCEPT_ENCODING,
      'Accept-Language': ACCEPT_LANGUAGE,
      Baggage: BAGGAGE,
    },
    after: { Origin: origin, ...sameOriginFetch(origin, id) },
  };
  byId.set(key, s);
  return s;
}

/**
 * Headers for one REST call to grok.com: fresh `x-xai-request-id` and `x-statsig-id` each time.
 * `contentType` defaults to JSON (every REST call the chat path makes is JSON).
 */
export function buildGrokHeaders(grok: GrokHeaderConfig, token: string, contentType = 'application/json'): Record<string, string> {
  const s = staticHeaders(grok, token);
  return {
    ...s.before,
    'Content-Type': contentType,
    ...s.after,
    'x-xai-request-id': randomUUID(),
    'x-statsig-id': latin1Safe(statsigId(grok)),
    Cookie: buildCookie(token, grok.cf_clearance),
  };
}
