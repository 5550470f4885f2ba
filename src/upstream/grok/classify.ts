import type { ErrorCode } from '../../error-codes.js';
import { UpstreamError, type Disposition } from '../../errors.js';
import type { AccountEffect } from '../../store/types.js';
import { isChallenge } from './transport/cloudflare.js';

/**
 * The one classifier (docs/upstream-grok.md §5): every upstream failure — HTTP status + body, an error frame
 * inside a 200 stream, a network error, a timeout, a client abort — becomes an `UpstreamError`
 * that says what the client sees if no retry helps, whether to retry, and what it means for the
 * account. Matching is by case-insensitive substring on a bounded body, so it never costs more
 * than one `toLowerCase()` of at most 64 KiB.
 */

// ---- Marker tables (docs/upstream-grok.md §5.1–§5.3) ----

/** docs/upstream-grok.md §5.1: bodies of 400/401/403 answers that mean the sso credential itself is dead or blocked. */
export const INVALID_CREDENTIAL_MARKERS = [
  'invalid-credentials',
  'bad-credentials',
  'failed to look up session id',
  'blocked-user',
  'user is blocked', // HEAD's spelling of the blocked-user answer
  'email-domain-rejected',
  'session not found',
  'account suspended',
  'token revoked',
  'token expired',
];
/** docs/upstream-grok.md §1.4 / §5.1: the anti-bot refusal (error code 7). */
export const ANTI_BOT_MARKERS = ['anti-bot'];
export const ANTI_BOT_CODE = 7;
/** docs/upstream-grok.md §5.1: request-scoped moderation refusal — the prompt, not the account, is the problem. */
export const SAFETY_MARKERS = ['content violates usage guidelines', 'safety_check_type_'];
/** docs/upstream-grok.md §5.1: rate limiting (error code 8). */
export const RATE_LIMIT_MARKERS = ['rate limit', 'rate_limit', 'too many requests'];
export const RATE_LIMIT_CODE = 8;
/** docs/upstream-grok.md §5.1: the mode's quota for this account is spent. */
export const USAGE_LIMIT_MARKERS = ['usage limit', 'usage quota'];
/** docs/upstream-grok.md §5.1, §9: the payload shape is outdated — no account will do better. */
export const OUTDATED_CLIENT_MARKERS = ['please update your client'];

/** undici / Node error codes that mean "took too long" (→ 504). */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UPSTREAM_IDLE_TIMEOUT']);

const has = (haystack: string, markers: readonly string[]) => markers.some((m) => haystack.includes(m));

function err(status: number, code: ErrorCode, message: string, disposition: Disposition, effect: AccountEffect, upstreamStatus: number, retryAfterMs?: number) {
  return new UpstreamError(status, code, message, disposition, effect, retryAfterMs, upstreamStatus);
}

/**
 * The client went away (or the request was cancelled). Distinct from other failures so callers
 * release the lease as `aborted`; never retried, never held against the account.
 */
export class UpstreamAbortError extends UpstreamError {
  constructor() {
    super(499, 'client_disconnected', 'The request was cancelled before the upstream answered.', 'fail', 'none');
    this.name = 'UpstreamAbortError';
  }
}

/** True for anything that means "aborted by our side": our abort error, DOM AbortError, undici's RequestAbortedError. */
export function isAbort(e: unknown): boolean {
  if (e instanceof UpstreamAbortError) return true;
  if (!e || typeof e !== 'object') return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR';
}

/** Factories for failures detected by our own code (frame parser, mapper, watchdog). */
export const upstreamErrors = {
  badResponse: (detail: string, upstreamStatus = 200) =>
    err(502, 'upstream_bad_response', `grok.com sent a response this server cannot read: ${detail}.`, 'retry-other', 'none', upstreamStatus),
  timeout: (what: string) =>
    err(504, 'upstream_timeout', `grok.com did not answer in time (${what}). Retry; raise [timeout] in the config if this persists.`, 'retry-other', 'none', 0),
  aborted: () => new UpstreamAbortError(),
  /** A 200 stream that stopped before its closing frame: the answer may be cut anywhere. */
  incomplete: (what: string) =>
    new UpstreamError(502, 'upstream_bad_response', `grok.com's answer stopped before it was complete (${what}).`, 'retry-other', 'none', undefined, 200, 'incomplete'),
  /** A 200 turn that ended without any answer text. */
  empty: () =>
    new UpstreamError(502, 'upstream_empty_answer', 'grok.com ended the turn without any answer text.', 'retry-other', 'none', undefined, 200, 'empty'),
  /**
   * An answer without the reasoning its mode always streams first: grok.com serves degraded
   * answers to accounts it has put under risk control.
   */
  noReasoning: (mode: string) =>
    new UpstreamError(
      502,
      'upstream_degraded_answer',
      `grok.com answered in mode '${mode}' without any reasoning, which it does for accounts under risk control; set retry.require_reasoning = false to accept such answers.`,
      'retry-other',
      'none',
      undefined,
      200,
      'no_reasoning',
    ),
};

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const trimmed = v.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A short, safe excerpt of the upstream's own message (JSON `error.message`), never HTML. */
function upstreamMessage(body: string): string {
  const t = body.trimStart();
  if (!t.startsWith('{')) return '';
  try {
    const j = JSON.parse(t) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : typeof j.error?.message === 'string' ? j.error.message : typeof j.message === 'string' ? j.message : '';
    return m ? ` (upstream said: ${m.slice(0, 200)})` : '';
  } catch {
    return '';
  }
}

function jsonErrorCode(body: string): number | undefined {
  const m = /"code"\s*:\s*(\d+)/.exec(body.slice(0, 4096));
  return m ? Number(m[1]) : undefined;
}

/** Refusals by grok.com's own anti-bot rules (code 7), as opposed to Cloudflare's challenges. */
const grokAntiBot = new WeakSet<UpstreamError>();

/** True for grok.com's anti-bot refusal (code 7), which earns one retry on the same account. */
export function isGrokAntiBot(e: UpstreamError): boolean {
  return grokAntiBot.has(e);
}

/** Rules shared by HTTP bodies and in-band error frames, in priority order; null = no marker matched. */
function classifyByContent(lower: string, code: number | undefined, said: string, upstreamStatus: number, retryAfterMs?: number): UpstreamError | null {
  if (has(lower, SAFETY_MARKERS)) {
    return err(400, 'content_policy_violation', `grok.com refused the request under its usage guidelines${said}. Rephrase the prompt.`, 'fail', 'none', upstreamStatus);
  }
  if (has(lower, INVALID_CREDENTIAL_MARKERS)) {
    return err(502, 'upstream_auth_failed', `grok.com rejected the account's credentials${said}.`, 'retry-other', 'invalid', upstreamStatus);
  }
  if (code === ANTI_BOT_CODE || has(lower, ANTI_BOT_MARKERS)) {
    const e = err(502, 'upstream_anti_bot', `grok.com's anti-bot rules rejected the request${said}. Check grok.statsig_mode, user_agent and cf_clearance.`, 'retry-other', 'none', upstreamStatus);
    grokAntiBot.add(e);
    return e;
  }
  if (has(lower, USAGE_LIMIT_MARKERS)) {
    return err(429, 'upstream_quota_exhausted', `The account's quota for this mode is used up${said}.`, 'retry-other', 'quota-exhausted', upstreamStatus, retryAfterMs);
  }
  if (code === RATE_LIMIT_CODE || has(lower, RATE_LIMIT_MARKERS)) {
    return err(429, 'upstream_rate_limited', `grok.com rate-limited the account${said}.`, 'retry-other', 'cooldown', upstreamStatus, retryAfterMs);
  }
  if (has(lower, OUTDATED_CLIENT_MARKERS)) {
    return err(502, 'upstream_bad_response', `grok.com no longer accepts this request format${said}. Upgrade grok2api.`, 'fail', 'none', upstreamStatus);
  }
  return null;
}

/** Classifies a non-2xx answer. `bodyText` should be a bounded prefix of the body (≤ 64 KiB). */
export function classifyHttp(status: number, bodyText: string, headers: Record<string, string | string[] | undefined> = {}): UpstreamError {
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const lower = bodyText.toLowerCase();
  const said = upstreamMessage(bodyText);
  if (isChallenge(status, headers, bodyText)) {
    // Cloudflare's verdict on the egress (IP + TLS + UA), never the account's fault.
    const egress = headers['x-grok2api-egress'];
    const via = egress ? ` through egress ${String(egress)}` : '';
    return err(502, 'upstream_anti_bot', `grok.com answered with a Cloudflare challenge (HTTP ${status})${via}. Set FLARESOLVERR_URL to solve it automatically, or set grok.cf_clearance with the matching grok.user_agent from a browser on that egress's IP, or use another egress (npm run doctor shows which layer refused).`, 'retry-other', 'none', status);
  }
  if (status === 429) {
    // On 429 only the kind of limit matters: a spent quota, or a plain rate limit.
    if (has(lower, USAGE_LIMIT_MARKERS)) return err(429, 'upstream_quota_exhausted', `The account's quota for this mode is used up${said}.`, 'retry-other', 'quota-exhausted', status, retryAfterMs);
    return err(429, 'upstream_rate_limited', `grok.com rate-limited the account (429)${said}.`, 'retry-other', 'cooldown', status, retryAfterMs);
  }
  if (status === 400 || status === 401 || status === 403) {
    const byContent = classifyByContent(lower, jsonErrorCode(bodyText), said, status, retryAfterMs);
    if (byContent) return byContent;
  }
  if (status === 401) return err(502, 'upstream_auth_failed', `grok.com answered 401: the account's sso token is not accepted${said}.`, 'retry-other', 'invalid', status);
  if (status === 403) {
    return err(502, 'upstream_forbidden', `grok.com refused the request (403)${said}.`, 'retry-other', 'none', status);
  }
  if (status >= 500) return err(502, 'upstream_unavailable', `grok.com failed with HTTP ${status}${said}.`, 'retry-other', 'none', status, retryAfterMs);
  return err(502, 'upstream_bad_response', `grok.com answered HTTP ${status}${said}.`, 'fail', 'none', status);
}

/** The error object's message and code, whatever shape it came in (docs/upstream-grok.md §5.2). */
function describeFrameError(e: unknown): { message: string; code?: number } {
  if (typeof e === 'string') return { message: e };
  if (Array.isArray(e)) {
    const parts = e.map(describeFrameError);
    return { message: parts.map((p) => p.message).join('; '), code: parts.find((p) => p.code !== undefined)?.code };
  }
  if (!e || typeof e !== 'object') return { message: '' };
  const o = e as Record<string, unknown>;
  if (o.error && typeof o.error === 'object') return describeFrameError(o.error);
  const text = [o.message, o.error, o.detail].find((v) => typeof v === 'string') as string | undefined;
  const code = typeof o.code === 'number' ? o.code : typeof o.code === 'string' && /^\d+$/.test(o.code) ? Number(o.code) : undefined;
  return { message: text ?? '', code };
}

/**
 * Classifies an in-band error (top-level `error`, `result.response.error`, or
 * `modelResponse.streamErrors`). Unrecognised errors may succeed on another account.
 */
export function classifyFrameError(errorObj: unknown): UpstreamError {
  const { message, code } = describeFrameError(errorObj);
  const said = message ? ` (upstream said: ${message.slice(0, 200)})` : '';
  const known = classifyByContent(message.toLowerCase(), code, said, 200);
  return known ?? err(502, 'upstream_stream_error', `grok.com reported an error in the answer stream${said}.`, 'retry-other', 'none', 200);
}

/** Classifies a thrown error (connect failure, reset, undici timeout, abort, decoder failure). */
export function classifyNetwork(e: unknown): UpstreamError {
  if (e instanceof UpstreamError) return e;
  if (isAbort(e)) return new UpstreamAbortError();
  const code = errorCode(e);
  if (code && TIMEOUT_CODES.has(code)) return upstreamErrors.timeout(code === 'UND_ERR_CONNECT_TIMEOUT' ? 'connect' : code === 'UND_ERR_HEADERS_TIMEOUT' ? 'response headers' : 'between response data');
  // zlib (`Z_DATA_ERROR`, …) and brotli (`ERR__ERROR_FORMAT_…`) decoder failures: the body is garbage.
  if (code && /^(Z_|ERR__ERROR_|ERR_BROTLI|UPSTREAM_BAD_ENCODING)/.test(code)) {
    return upstreamErrors.badResponse('its body encoding could not be decoded', 200);
  }
  return err(502, 'upstream_unreachable', `Could not talk to grok.com (${code ?? 'network error'}). Check connectivity and grok.proxy_url.`, 'retry-other', 'none', 0);
}

/** The first `code` on the error or its cause chain (undici wraps some socket errors). */
function errorCode(e: unknown): string | undefined {
  for (let cur = e, depth = 0; cur && typeof cur === 'object' && depth < 4; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** mgw error codes (strings, docs/upstream-grok.md §5.3) that mean the credential itself is dead. */
const GATEWAY_INVALID_CODES = /^(unauthenticated|unauthorized|invalid[_-]?credentials?|blocked[_-]?user|session[_-]?not[_-]?found)$/;

/**
 * Classifies an mgw gateway `error` event (`{code, message}`, code a string such as `anti_bot`
 * or a number) or `response.grok.output.stream_error`. String codes are read like message
 * markers (`anti_bot` → anti-bot, `usage_limit` → quota, `rate_limited` → rate limit), so one rule
 * table serves REST bodies, REST in-band errors and gateway frames alike.
 */
export function classifyGatewayError(errorObj: unknown): UpstreamError {
  const raw = errorObj && typeof errorObj === 'object' ? (errorObj as Record<string, unknown>) : {};
  const codeText = typeof raw.code === 'string' && !/^\d+$/.test(raw.code) ? raw.code.toLowerCase() : '';
  if (codeText && GATEWAY_INVALID_CODES.test(codeText)) {
    const { message } = describeFrameError(errorObj);
    const said = message ? ` (upstream said: ${message.slice(0, 200)})` : '';
    return err(502, 'upstream_auth_failed', `grok.com rejected the account's credentials${said}.`, 'retry-other', 'invalid', 200);
  }
  if (!codeText) return classifyFrameError(errorObj);
  const { message, code } = describeFrameError(errorObj);
  const said = ` (upstream said: ${codeText}${message ? `: ${message.slice(0, 200)}` : ''})`;
  const haystack = `${message} ${codeText.replace(/_/g, '-')} ${codeText.replace(/_/g, ' ')}`.toLowerCase();
  return classifyByContent(haystack, code, said, 200) ?? err(502, 'upstream_stream_error', `grok.com reported an error in the answer stream${said}.`, 'retry-other', 'none', 200);
}
