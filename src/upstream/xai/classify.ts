import { UpstreamError } from '../../errors.js';

/**
 * The xAI API's failures as the pool understands them:
 * - 401, or 400/403 naming the API key: the key is dead → `invalid`, try another credential;
 * - 429: rate-limited → `cooldown` until the provider's reset headers say, try another credential;
 * - 402, or 403/429 about credits or the spending limit: out of credits → `quota-exhausted` for
 *   `xai.exhausted_retry_sec`, try another credential;
 * - other 4xx: the request itself is wrong → the client sees xAI's message, no retry;
 * - 5xx, network errors: try another credential; timeouts → 504.
 */

type Headers = Record<string, string | string[] | undefined>;

// Not 'exhausted': xAI's ordinary 429 says "Some resource has been exhausted" (gRPC RESOURCE_EXHAUSTED).
const CREDIT_MARKERS = ['credits', 'spending limit', 'billing', 'insufficient_quota'];
const KEY_MARKERS = ['api key', 'api-key', 'apikey', 'unauthorized', 'unauthenticated'];
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Milliseconds in an OpenAI-style reset value: "1s", "6m0s", "20ms", "1h2m3.5s", or plain seconds.
 * Null when it cannot be read.
 */
export function parseResetDuration(v: string | undefined): number | null {
  if (!v) return null;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
    matched += m[0];
  }
  return matched === s && matched !== '' ? Math.round(total) : null;
}

/**
 * How long the provider asks us to wait: `retry-after` (seconds or an HTTP date), else the later of
 * the request and token windows' `x-ratelimit-reset-*`. Undefined when no header says.
 */
export function retryAfterFromHeaders(h: Headers, now = Date.now()): number | undefined {
  const ra = header(h, 'retry-after');
  if (ra) {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens', 'x-ratelimit-reset'].map((n) => parseResetDuration(header(h, n))).filter((n): n is number => n !== null);
  return resets.length ? Math.max(...resets) : undefined;
}

/** xAI's error message from an OpenAI-shaped (`{error: {message}}`) or plain (`{error: "..."}`) body. */
export function xaiMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; code?: unknown };
    const e = parsed.error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  } catch {
    // Not JSON: the text itself, bounded below.
  }
  return body.slice(0, 300) || 'no message';
}

export function classifyXaiResponse(status: number, headers: Headers, body: string, exhaustedMs: number): UpstreamError {
  const message = xaiMessage(body);
  const lower = `${message} ${body.slice(0, 4096)}`.toLowerCase();
  const said = `The xAI API answered ${status}: ${message}`;
  const credits = CREDIT_MARKERS.some((m) => lower.includes(m));
  if (status === 402 || ((status === 403 || status === 429) && credits)) {
    return new UpstreamError(429, 'upstream_quota_exhausted', said, 'retry-other', 'quota-exhausted', exhaustedMs, status);
  }
  if (status === 401 || ((status === 400 || status === 403) && KEY_MARKERS.some((m) => lower.includes(m)))) {
    return new UpstreamError(502, 'upstream_auth_failed', said, 'retry-other', 'invalid', undefined, status);
  }
  if (status === 429) {
    return new UpstreamError(429, 'upstream_rate_limited', said, 'retry-other', 'cooldown', retryAfterFromHeaders(headers), status);
  }
  if (status === 403) return new UpstreamError(502, 'upstream_forbidden', said, 'retry-other', 'none', undefined, status);
  if (status === 404) return new UpstreamError(404, 'model_not_found', said, 'fail', 'none', undefined, status);
  if (status >= 400 && status < 500) return new UpstreamError(400, 'invalid_value', said, 'fail', 'none', undefined, status);
  return new UpstreamError(502, 'upstream_unavailable', said, 'retry-other', 'none', undefined, status);
}

/** A failure before any answer: unreachable or too slow. */
export function classifyXaiNetworkError(err: unknown): UpstreamError {
  const code = (err as { code?: string }).code ?? '';
  if (TIMEOUT_CODES.has(code)) return new UpstreamError(504, 'upstream_timeout', 'The xAI API did not answer in time.', 'retry-other', 'none');
  return new UpstreamError(502, 'upstream_unreachable', `The xAI API could not be reached (${code || (err as Error).message}).`, 'retry-other', 'none');
}
