/**
 * Quota sync with grok.com (spec/upstream-chat.md §9.1, upstream-media-control.md §4.3):
 * `POST /rest/rate-limits {"modelName": <mode>}` answers the account's window for one mode.
 * Failures go through the one classifier, so a dead credential is recognised the same way as on
 * the chat path.
 */
import { request, type Dispatcher } from 'undici';
import type { Config } from '../../config/schema.js';
import type { Tier } from '../../core/models.js';
import { decodeBody, readBounded, upstreamTimeouts } from '../http-client.js';
import { classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import { buildGrokHeaders } from './headers.js';

export interface RateLimitWindow {
  remaining: number;
  total: number;
  windowSeconds: number;
}

/** Window length when grok.com reports none (HEAD's default). */
const DEFAULT_WINDOW_SECONDS = 7200;

/**
 * One mode's window, or null when the account's tier does not have the mode (grok.com answers
 * 400 for it). Throws a classified UpstreamError for everything else.
 */
export async function fetchRateLimits(config: Config, dispatcher: Dispatcher, token: string, mode: string, signal?: AbortSignal): Promise<RateLimitWindow | null> {
  const url = `${config.grok.base_url.replace(/\/+$/, '')}/rest/rate-limits`;
  const t = upstreamTimeouts(config);
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      headers: buildGrokHeaders(config.grok, token),
      body: JSON.stringify({ modelName: mode }),
      dispatcher,
      signal,
      headersTimeout: t.firstByteMs,
      bodyTimeout: t.idleMs,
    });
  } catch (err) {
    throw classifyNetwork(err);
  }
  const text = await readBounded(decodeBody(res.body, res.headers['content-encoding']));
  if (res.statusCode === 400) {
    const err = classifyHttp(400, text, res.headers);
    if (err.effect === 'invalid') throw err;
    return null;
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw classifyHttp(res.statusCode, text, res.headers);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw upstreamErrors.badResponse('the rate-limits answer is not JSON');
  }
  const remaining = body.remainingQueries ?? body.remainingTokens;
  if (typeof remaining !== 'number') throw upstreamErrors.badResponse('the rate-limits answer has no remainingQueries');
  const total = typeof body.totalQueries === 'number' && body.totalQueries > 0 ? body.totalQueries : remaining;
  const win = typeof body.windowSizeSeconds === 'number' && body.windowSizeSeconds > 0 ? body.windowSizeSeconds : DEFAULT_WINDOW_SECONDS;
  return { remaining: Math.max(0, remaining), total, windowSeconds: win };
}

const RANK: Tier[] = ['basic', 'super', 'heavy'];

/**
 * The tier the quota totals reveal (§4.4 G): auto total 7/20 → basic, 50 → super, 150 → heavy;
 * fast 30/140/400; the lower tier wins on conflict. Unknown totals map by threshold; null when
 * neither mode answered.
 */
export function inferTier(windows: Record<string, RateLimitWindow | null | undefined>): Tier | null {
  const guesses: Tier[] = [];
  const fast = windows.fast?.total;
  if (fast !== undefined) guesses.push(fast >= 400 ? 'heavy' : fast >= 140 ? 'super' : 'basic');
  const auto = windows.auto?.total;
  if (auto !== undefined) guesses.push(auto >= 150 ? 'heavy' : auto >= 50 ? 'super' : 'basic');
  if (guesses.length === 0) return null;
  return guesses.reduce((a, b) => (RANK.indexOf(a) <= RANK.indexOf(b) ? a : b));
}
