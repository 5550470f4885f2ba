import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import { Allowlist, blockedReason } from './ip-policy.js';

/**
 * The one way to fetch a URL a client gave us (docs/api-contract.md §4.2: `image_url`, `file_url`, …).
 *
 * - http and https only; credentials in the URL are refused.
 * - The host is resolved here and every address is checked (ip-policy.ts) unless the host or the
 *   address is allowlisted. The connection then goes to exactly the checked address: the DNS
 *   answer is pinned through the socket's `lookup` hook, so a second, different answer (DNS
 *   rebinding) can never be used.
 * - Redirects are followed by hand (a few at most), each target checked like the first URL.
 * - The body is streamed with a byte limit and the whole fetch with a time limit.
 * - Never goes through grok.proxy_url: the address check must be about where the bytes come from.
 */

export interface FetchPolicy {
  allowlist: Allowlist;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
  /** DNS resolver (tests); defaults to the system's `dns.lookup`. */
  lookup?: (host: string) => Promise<LookupAddress[]>;
}

export interface FetchedBody {
  data: Buffer;
  /** The Content-Type header (informational only: callers sniff the bytes). */
  contentType: string;
  /** The URL the bytes finally came from (after redirects). */
  url: URL;
}

/** A refusal whose message says why; callers turn it into a 400 for the part that named the URL. */
export class FetchRefusedError extends Error {
  override name = 'FetchRefusedError';
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const allowlists = new WeakMap<readonly string[], Allowlist>();

/** The policy for a config's `[security]` section (the allowlist is parsed once per config). */
export function fetchPolicy(sec: { fetch_allowlist: string[]; fetch_max_mb: number; fetch_timeout_sec: number }): FetchPolicy {
  let allowlist = allowlists.get(sec.fetch_allowlist);
  if (!allowlist) allowlists.set(sec.fetch_allowlist, (allowlist = new Allowlist(sec.fetch_allowlist)));
  return { allowlist, maxBytes: Math.floor(sec.fetch_max_mb * 1024 * 1024), timeoutMs: sec.fetch_timeout_sec * 1000 };
}

const systemLookup = (host: string) =>
  new Promise<LookupAddress[]>((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (e, a) => (e ? reject(e) : resolve(a))));

/** Parses and checks the URL's shape (scheme, credentials); throws FetchRefusedError. */
export function checkUrlShape(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new FetchRefusedError('is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchRefusedError(`uses the scheme '${url.protocol.replace(/:$/, '')}'; only http and https URLs are fetched`);
  if (url.username || url.password) throw new FetchRefusedError('contains credentials; refused');
  return url;
}

/**
 * Resolves the URL's host and returns the address to connect to: the first allowed one. Throws
 * FetchRefusedError naming the address when the host resolves only to refused addresses (one
 * refused address among public ones is skipped, never connected to).
 */
export async function checkedAddress(url: URL, policy: FetchPolicy): Promise<LookupAddress> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const hostAllowed = policy.allowlist.hasHost(host);
  let addrs: LookupAddress[];
  if (literal) addrs = [{ address: host, family: literal }];
  else {
    try {
      addrs = await (policy.lookup ?? systemLookup)(host);
    } catch (e) {
      throw new FetchRefusedError(`has a host name that does not resolve (${(e as { code?: string }).code ?? 'DNS error'})`);
    }
    if (!addrs.length) throw new FetchRefusedError('has a host name that does not resolve');
  }
  if (hostAllowed) return addrs[0]!;
  let refusal = '';
  for (const a of addrs) {
    const why = policy.allowlist.hasIp(a.address) ? null : blockedReason(a.address);
    if (!why) return a;
    refusal ||= `${literal ? 'points to' : 'resolves to'} ${why} ${a.address}; refused (add it to security.fetch_allowlist to allow it)`;
  }
  throw new FetchRefusedError(refusal);
}

/** Fetches the URL under the policy. Throws FetchRefusedError for every refusal and failure. */
export async function guardedFetch(raw: string, policy: FetchPolicy, signal?: AbortSignal): Promise<FetchedBody> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, policy.timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let url = checkUrlShape(raw);
    for (let hop = 0; ; hop++) {
      const pinned = await checkedAddress(url, policy);
      const res = await get(url, pinned, policy, controller.signal);
      if (REDIRECTS.has(res.status)) {
        if (hop >= (policy.maxRedirects ?? 3)) throw new FetchRefusedError('redirects too many times');
        if (!res.location) throw new FetchRefusedError(`answered ${res.status} without a Location`);
        url = checkUrlShape(new URL(res.location, url).href);
        continue;
      }
      if (res.status < 200 || res.status >= 300) throw new FetchRefusedError(`answered HTTP ${res.status}`);
      return { data: res.data!, contentType: res.contentType, url };
    }
  } catch (e) {
    if (e instanceof FetchRefusedError) throw e;
    if (signal?.aborted) throw e;
    if (timedOut) throw new FetchRefusedError(`did not answer within ${policy.timeoutMs / 1000} s (security.fetch_timeout_sec)`);
    const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    throw new FetchRefusedError(`could not be fetched (${code ?? 'network error'})`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

interface Answer {
  status: number;
  location?: string;
  contentType: string;
  data?: Buffer;
}

/** One GET to the pinned address; reads the body (bounded) only for a 2xx answer. */
async function get(url: URL, pinned: LookupAddress, policy: FetchPolicy, signal: AbortSignal): Promise<Answer> {
  // A fresh agent per fetch: its lookup hands out only the checked address, whatever DNS says now.
  const agent = new Agent({
    connect: {
      lookup: (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        opts?.all ? cb(null, [pinned]) : cb(null, pinned.address, pinned.family),
    } as Record<string, unknown>,
    pipelining: 0,
  });
  try {
    const res = await request(url, {
      method: 'GET',
      dispatcher: agent,
      signal,
      headers: { accept: 'image/*, audio/*, application/pdf, text/*;q=0.9, */*;q=0.5', 'user-agent': 'grok2api-fetch/1' },
    });
    // Destroying the agent below may error a body we already gave up on; nobody reads it any more.
    res.body.on('error', () => undefined);
    const header = (name: string) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const contentType = header('content-type') ?? '';
    if (res.statusCode < 200 || res.statusCode >= 300) {
      res.body.destroy();
      return { status: res.statusCode, location: header('location'), contentType };
    }
    const declared = Number(header('content-length'));
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      res.body.destroy();
      throw tooLarge(policy);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > policy.maxBytes) {
        res.body.destroy();
        throw tooLarge(policy);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, contentType, data: Buffer.concat(chunks, size) };
  } finally {
    void agent.destroy().catch(() => undefined);
  }
}

const tooLarge = (policy: FetchPolicy) =>
  new FetchRefusedError(`is larger than ${+(policy.maxBytes / 1024 / 1024).toFixed(2)} MB (security.fetch_max_mb)`);
