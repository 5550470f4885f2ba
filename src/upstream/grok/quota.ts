/**
 * Quota sync with grok.com (docs/upstream-grok.md §6):
 * `POST /rest/rate-limits {"modelName": <mode>}` answers the account's window for one mode.
 * Failures go through the one classifier, so a dead credential is recognised the same way as on
 * the chat path.
 */
import type { Tier } from '../../core/models.js';
import { readBounded } from '../http-client.js';
import type { GrokClient } from './client.js';

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
export async function fetchRateLimits(client: GrokClient, token: string, mode: string, signal?: AbortSignal): Promise<RateLimitWindow | null> {
  let res;
  try {
    res = await client.request(client.url('/rest/rate-limits'), {
      method: 'POST',
      account: token,
      headers: client.headers(token),
      body: JSON.stringify({ modelName: mode }),
      signal,
    });
  } catch (err) {
    throw client.classifyNetwork(err);
  }
  const text = await readBounded(res.body);
  if (res.statusCode === 400) {
    const err = client.classifyHttp(400, text, res.headers);
    if (err.effect === 'invalid') throw err;
    return null;
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw client.classifyHttp(res.statusCode, text, res.headers);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw client.errors.badResponse('the rate-limits answer is not JSON');
  }
  const remaining = body.remainingQueries ?? body.remainingTokens;
  if (typeof remaining !== 'number') throw client.errors.badResponse('the rate-limits answer has no remainingQueries');
  const total = typeof body.totalQueries === 'number' && body.totalQueries > 0 ? body.totalQueries : remaining;
  const win = typeof body.windowSizeSeconds === 'number' && body.windowSizeSeconds > 0 ? body.windowSizeSeconds : DEFAULT_WINDOW_SECONDS;
  return { remaining: Math.max(0, remaining), total, windowSeconds: win };
}

const RANK: Tier[] = ['basic', 'super', 'heavy'];

/**
 * The tier the quota windows reveal: a heavy window (only heavy accounts have the mode) means
 * heavy, whatever the other totals say; else auto total 7/20 → basic, 50 → super, 150 → heavy and
 * fast 30/140/400, the lower tier winning on conflict. Unknown totals map by threshold; null when
 * no mode answered.
 */
export function inferTier(windows: Record<string, RateLimitWindow | null | undefined>): Tier | null {
  if ((windows.heavy?.total ?? 0) > 0) return 'heavy';
  const guesses: Tier[] = [];
  const fast = windows.fast?.total;
  if (fast !== undefined) guesses.push(fast >= 400 ? 'heavy' : fast >= 140 ? 'super' : 'basic');
  const auto = windows.auto?.total;
  if (auto !== undefined) guesses.push(auto >= 150 ? 'heavy' : auto >= 50 ? 'super' : 'basic');
  if (guesses.length === 0) return null;
  return guesses.reduce((a, b) => (RANK.indexOf(a) <= RANK.indexOf(b) ? a : b));
}

/** The imagine groups of `/rest/media/imagine/quota_info`, and the quota keys they are kept under. */
export const IMAGINE_QUOTA_KEYS = {
  image: 'imagine:image',
  imagePro: 'imagine:image_pro',
  imageEdit: 'imagine:image_edit',
  video: 'imagine:video',
  video720p: 'imagine:video_720p',
} as const;

export interface ImagineWindow {
  remaining: number;
  windowSeconds: number;
  /** Epoch ms when a spent group is available again, when grok.com says. */
  nextAvailableAt: number | null;
}

/**
 * The account's imagine windows (`POST /rest/media/imagine/quota_info {}`, Referer /imagine), by
 * quota key; a group grok.com does not offer the account (null) is left out. Throws a
 * classified UpstreamError.
 */
export async function fetchImagineQuota(client: GrokClient, token: string, signal?: AbortSignal): Promise<Record<string, ImagineWindow>> {
  const headers = { ...client.headers(token), Referer: `${client.origin}/imagine` };
  let res;
  try {
    res = await client.request(client.url('/rest/media/imagine/quota_info'), { method: 'POST', account: token, headers, body: '{}', signal });
  } catch (err) {
    throw client.classifyNetwork(err);
  }
  const text = await readBounded(res.body);
  if (res.statusCode < 200 || res.statusCode >= 300) throw client.classifyHttp(res.statusCode, text, res.headers);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw client.errors.badResponse('the imagine quota answer is not JSON');
  }
  const out: Record<string, ImagineWindow> = {};
  for (const [group, key] of Object.entries(IMAGINE_QUOTA_KEYS)) {
    const g = body[group] as Record<string, unknown> | null | undefined;
    if (!g || typeof g !== 'object' || typeof g.remainingQueries !== 'number') continue;
    const next = typeof g.nextAvailableAt === 'string' ? Date.parse(g.nextAvailableAt) : NaN;
    out[key] = {
      remaining: Math.max(0, g.remainingQueries),
      windowSeconds: typeof g.windowSizeSeconds === 'number' && g.windowSizeSeconds > 0 ? g.windowSizeSeconds : 0,
      nextAvailableAt: Number.isNaN(next) ? null : next,
    };
  }
  return out;
}
