import { createHash } from 'node:crypto';
import { getEmulationHeaders, getProfiles } from 'wreq-js';

/**
 * Who we say we are to grok.com. The TLS/HTTP2 impersonation profile, the `User-Agent` and the
 * `sec-ch-ua*` client hints must name the same Chrome version: Cloudflare compares them. The
 * profile list, and each profile's exact UA and brand list (with its GREASE brand), come from the
 * impersonation library, so they can never drift apart from what the handshake says.
 */

export interface BrowserIdentityConfig {
  /** `chrome` (the newest Chrome profile the library ships) or a profile name such as `chrome_149`. */
  browser_profile: string;
  /** `macos`, `windows` or `linux`. */
  browser_os: string;
  /** Empty: the profile's own UA. Set: sent as is, and the profile follows its Chrome version. */
  user_agent: string;
  /** A stable profile and OS per account, drawn from the newest Chrome profiles. */
  identity_per_account: boolean;
}

export interface BrowserIdentity {
  profile: string;
  os: string;
  userAgent: string;
  secChUa: string;
  secChUaMobile: string;
  secChUaPlatform: string;
}

export const BROWSER_OSES = ['macos', 'windows', 'linux'] as const;
/** How many of the newest Chrome profiles per-account identities are drawn from. */
const PER_ACCOUNT_PROFILES = 6;

let chromeProfiles: string[] | undefined;

/** The library's Chrome profiles, oldest first. */
export function chromeProfileNames(): string[] {
  chromeProfiles ??= getProfiles()
    .filter((p) => /^chrome_\d+$/.test(p))
    .sort((a, b) => major(a) - major(b));
  return chromeProfiles;
}

export function newestChromeProfile(): string {
  return chromeProfileNames().at(-1)!;
}

/** `chrome_<n>` for a Chrome UA: that version if shipped, else the nearest older one, else the oldest. */
export function profileForUserAgent(userAgent: string): string | undefined {
  const m = /(?:Chrome|CriOS)\/(\d+)/.exec(userAgent);
  if (!m) return undefined;
  const want = Number(m[1]);
  const names = chromeProfileNames();
  let pick = names[0]!;
  for (const n of names) if (major(n) <= want) pick = n;
  return pick;
}

/** Checks the configured names; returns a warning when a configured UA has no matching profile. */
export function checkIdentityConfig(c: BrowserIdentityConfig): string | undefined {
  const names = chromeProfileNames();
  if (c.browser_profile !== 'chrome' && !names.includes(c.browser_profile)) {
    throw new Error(`grok.browser_profile '${c.browser_profile}' is not a profile this build ships; use "chrome" (newest: ${newestChromeProfile()}) or one of ${names.slice(-8).join(', ')}`);
  }
  if (!(BROWSER_OSES as readonly string[]).includes(c.browser_os)) {
    throw new Error(`grok.browser_os '${c.browser_os}' is not one of ${BROWSER_OSES.join(', ')}`);
  }
  const ua = c.user_agent.trim();
  if (!ua) return undefined;
  const profile = profileForUserAgent(ua);
  if (!profile) return `grok.user_agent is not a Chrome User-Agent, but the TLS fingerprint is Chrome's; Cloudflare may notice. Leave it empty to use the profile's own.`;
  const m = /(?:Chrome|CriOS)\/(\d+)/.exec(ua)!;
  if (major(profile) !== Number(m[1])) return `grok.user_agent says Chrome ${m[1]}, the newest matching profile is ${profile}; leave user_agent empty to send ${newestChromeProfile()}'s own.`;
  return undefined;
}

const cache = new Map<string, BrowserIdentity>();

/** The identity for a request; `account` (the token) only matters with `identity_per_account`. */
export function browserIdentity(c: BrowserIdentityConfig, account?: string): BrowserIdentity {
  const ua = c.user_agent.trim();
  let profile: string;
  let os: string;
  if (c.identity_per_account && account && !ua) {
    const names = chromeProfileNames().slice(-PER_ACCOUNT_PROFILES);
    const h = createHash('sha256').update(account).digest();
    profile = names[h[0]! % names.length]!;
    os = h[1]! % 3 === 0 ? 'windows' : 'macos';
  } else {
    profile = (ua && profileForUserAgent(ua)) || (c.browser_profile === 'chrome' ? newestChromeProfile() : c.browser_profile);
    os = c.browser_os;
  }
  return identityOf(profile, os, ua || undefined);
}

/** The identity of a profile on an OS, with `userAgent` overriding the profile's own UA. */
export function identityOf(profile: string, os: string, userAgent?: string): BrowserIdentity {
  const key = `${profile}|${os}|${userAgent ?? ''}`;
  let id = cache.get(key);
  if (id) return id;
  const h = new Map(getEmulationHeaders(profile as never, os as never).toTuples().map(([k, v]) => [k.toLowerCase(), v]));
  const platform = userAgent ? platformOf(userAgent) : h.get('sec-ch-ua-platform')!;
  id = {
    profile,
    os,
    userAgent: userAgent ?? h.get('user-agent')!,
    secChUa: h.get('sec-ch-ua')!,
    secChUaMobile: userAgent && /Mobile/.test(userAgent) ? '?1' : '?0',
    secChUaPlatform: platform,
  };
  cache.set(key, id);
  return id;
}

function platformOf(ua: string): string {
  if (/Windows/.test(ua)) return '"Windows"';
  if (/Android/.test(ua)) return '"Android"';
  if (/iPhone|iPad|iOS/.test(ua)) return '"iOS"';
  if (/Mac OS X|Macintosh/.test(ua)) return '"macOS"';
  if (/CrOS/.test(ua)) return '"Chrome OS"';
  if (/Linux/.test(ua)) return '"Linux"';
  return '"Unknown"';
}

function major(profile: string): number {
  return Number(profile.slice('chrome_'.length));
}
