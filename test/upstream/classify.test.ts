import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import {
  classifyFrameError,
  classifyHttp,
  classifyNetwork,
  isAbort,
  parseRetryAfter,
  UpstreamAbortError,
} from '../../src/upstream/grok/classify.js';

type Row = [status: number, body: string, disposition: string, effect: string, clientStatus: number, code: string];

const json = (code: number, message: string) => JSON.stringify({ error: { code, message, details: [] } });

const httpTable: Row[] = [
  [401, '', 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [401, json(16, 'invalid-credentials'), 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [400, '{"error":"Failed to look up session ID"}', 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [403, json(7, 'blocked-user'), 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [403, '{"error":{"message":"User is blocked"}}', 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [403, 'Token Expired', 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
  [403, json(7, 'Request rejected by anti-bot rules.'), 'retry-other', 'none', 502, 'upstream_anti_bot'],
  [403, '{"error":{"code":7,"message":"rejected"}}', 'retry-other', 'none', 502, 'upstream_anti_bot'],
  [403, '<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>', 'retry-other', 'none', 502, 'upstream_anti_bot'],
  [403, json(3, 'Your content violates usage guidelines'), 'fail', 'none', 400, 'content_policy_violation'],
  [403, '{"error":{"message":"SAFETY_CHECK_TYPE_CSAM"}}', 'fail', 'none', 400, 'content_policy_violation'],
  [403, 'forbidden', 'retry-other', 'none', 502, 'upstream_forbidden'],
  [429, json(8, 'Too many requests'), 'retry-other', 'cooldown', 429, 'upstream_rate_limited'],
  [429, '', 'retry-other', 'cooldown', 429, 'upstream_rate_limited'],
  [429, '{"error":{"message":"You have reached your usage limit"}}', 'retry-other', 'quota-exhausted', 429, 'upstream_quota_exhausted'],
  [400, '{"error":{"message":"usage quota exceeded"}}', 'retry-other', 'quota-exhausted', 429, 'upstream_quota_exhausted'],
  [400, json(3, 'Invalid request. Please update your client'), 'fail', 'none', 502, 'upstream_bad_response'],
  [400, json(3, 'bad field'), 'fail', 'none', 502, 'upstream_bad_response'],
  [404, 'not found', 'fail', 'none', 502, 'upstream_bad_response'],
  [500, 'boom', 'retry-other', 'none', 502, 'upstream_unavailable'],
  [503, '', 'retry-other', 'none', 502, 'upstream_unavailable'],
];

describe('classifyHttp', () => {
  it.each(httpTable)('%i %s → %s/%s %i %s', (status, body, disposition, effect, clientStatus, code) => {
    const e = classifyHttp(status, body, {});
    expect(e).toBeInstanceOf(UpstreamError);
    expect({ disposition: e.disposition, effect: e.effect, status: e.status, code: e.code, upstreamStatus: e.upstreamStatus }).toEqual({
      disposition,
      effect,
      status: clientStatus,
      code,
      upstreamStatus: status,
    });
  });

  it('takes Retry-After in seconds or as an HTTP date', () => {
    expect(classifyHttp(429, '', { 'retry-after': '120' }).retryAfterMs).toBe(120_000);
    const date = new Date(Date.now() + 60_000).toUTCString();
    const ms = classifyHttp(429, '', { 'retry-after': date }).retryAfterMs!;
    expect(ms).toBeGreaterThan(58_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    expect(classifyHttp(429, '', {}).retryAfterMs).toBeUndefined();
  });

  it('quotes the upstream JSON message but never HTML', () => {
    expect(classifyHttp(403, json(7, 'Request rejected by anti-bot rules.'), {}).message).toContain('Request rejected by anti-bot rules.');
    expect(classifyHttp(403, '<html><title>Just a moment...</title><script>x</script></html>', {}).message).not.toContain('<');
  });
});

describe('parseRetryAfter', () => {
  it('handles junk and past dates', () => {
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(['5'])).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0);
  });
});

describe('classifyFrameError', () => {
  const table: [unknown, string, string, number, string][] = [
    [{ code: 7, message: 'Request rejected by anti-bot rules.', details: [] }, 'retry-other', 'none', 502, 'upstream_anti_bot'],
    [{ message: 'rate limited', code: 8 }, 'retry-other', 'cooldown', 429, 'upstream_rate_limited'],
    [{ message: 'Too Many Requests' }, 'retry-other', 'cooldown', 429, 'upstream_rate_limited'],
    [{ message: "You've reached your usage limit. Please try again later." }, 'retry-other', 'quota-exhausted', 429, 'upstream_quota_exhausted'],
    [[{ message: 'upstream stream failed' }], 'retry-other', 'none', 502, 'upstream_stream_error'],
    [['plain string error'], 'retry-other', 'none', 502, 'upstream_stream_error'],
    [[{ error: { message: 'usage quota reached', code: 8 } }], 'retry-other', 'quota-exhausted', 429, 'upstream_quota_exhausted'],
    [{ detail: 'session not found' }, 'retry-other', 'invalid', 502, 'upstream_auth_failed'],
    [{ message: 'content violates usage guidelines' }, 'fail', 'none', 400, 'content_policy_violation'],
  ];
  it.each(table)('%j → %s/%s', (obj, disposition, effect, status, code) => {
    const e = classifyFrameError(obj);
    expect({ disposition: e.disposition, effect: e.effect, status: e.status, code: e.code, upstreamStatus: e.upstreamStatus }).toEqual({
      disposition,
      effect,
      status,
      code,
      upstreamStatus: 200,
    });
  });
});

describe('classifyNetwork', () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['UND_ERR_CONNECT_TIMEOUT', 504, 'upstream_timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 504, 'upstream_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 504, 'upstream_timeout'],
    ['ECONNRESET', 502, 'upstream_unreachable'],
    ['ECONNREFUSED', 502, 'upstream_unreachable'],
    ['UND_ERR_SOCKET', 502, 'upstream_unreachable'],
    ['ENOTFOUND', 502, 'upstream_unreachable'],
    ['Z_DATA_ERROR', 502, 'upstream_bad_response'],
  ])('%s → %i %s, retry-other, no effect', (code, status, expected) => {
    const e = classifyNetwork(withCode(code));
    expect([e.status, e.code, e.disposition, e.effect]).toEqual([status, expected, 'retry-other', 'none']);
  });

  it('follows the cause chain', () => {
    expect(classifyNetwork(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') })).code).toBe('upstream_unreachable');
  });

  it('keeps an already classified error', () => {
    const e = classifyHttp(401, '', {});
    expect(classifyNetwork(e)).toBe(e);
  });

  it('turns aborts into a distinct fail/none error', () => {
    for (const a of [new DOMException('x', 'AbortError'), withCode('UND_ERR_ABORTED'), new UpstreamAbortError()]) {
      expect(isAbort(a)).toBe(true);
      const e = classifyNetwork(a);
      expect(e).toBeInstanceOf(UpstreamAbortError);
      expect([e.disposition, e.effect]).toEqual(['fail', 'none']);
    }
    expect(isAbort(withCode('ECONNRESET'))).toBe(false);
  });
});
