import type { Config } from '../config/schema.js';
import { UpstreamError } from '../errors.js';
import type { Lease } from '../store/types.js';
import { classifyNetwork } from '../upstream/grok/classify.js';
import { GrokClient } from '../upstream/grok/client.js';
import { fetchRateLimits, inferTier, type RateLimitWindow } from '../upstream/grok/quota.js';
import { SessionIdentity } from '../upstream/grok/session-identity.js';
import type { GrokTransport } from '../upstream/grok/transport/index.js';
import { adviceFor } from './advice.js';
import { layer, timed } from './layer.js';
import type { LayerId, LayerResult } from './report.js';

/** What every account-level check needs. */
export interface AccountContext {
  config: Config;
  transport: GrokTransport;
  token: string;
  /** The account's egress (masked), from the first request. */
  egress: string | null;
}

/** The grok.com client the upstream functions take, on the doctor's configuration and transport. */
export function doctorClient(ctx: AccountContext): GrokClient {
  return new GrokClient(ctx.config, ctx.transport);
}

/** The lease the upstream functions take; the doctor borrows no pool slot and reports nothing to the pool. */
export function doctorLease(token: string, mode = 'fast'): Lease {
  return { leaseId: 'doctor', accountId: 'doctor', token, tier: 'basic', mode };
}

/** A failed check as a layer: the classifier's message as what was seen, the advice as the next step. */
export function failedLayer(id: LayerId, e: unknown, ctx: AccountContext): LayerResult {
  const err = e instanceof UpstreamError ? e : classifyNetwork(e);
  const advice = adviceFor(err, new URL(ctx.config.grok.base_url).host, { config: ctx.config, egress: ctx.egress, dialError: null });
  return layer(id, advice.status, err.message, advice.next, err.code);
}

/** `GET /api/auth/session`: is the account signed in, and as which grok.com user. */
export function checkSession(ctx: AccountContext): Promise<LayerResult> {
  return timed('session', async () => {
    try {
      const identity = new SessionIdentity(doctorClient(ctx));
      const uid = await identity.userId(doctorLease(ctx.token), AbortSignal.timeout(ctx.config.timeout.first_byte_sec * 1000 + 1000));
      return layer('session', 'ok', `Signed in as grok.com user ${uid.slice(0, 8)}….`);
    } catch (e) {
      return failedLayer('session', e, ctx);
    }
  });
}

const hours = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : `${Math.round(s / 60)} min`);
const describe = (mode: string, w: RateLimitWindow | null) => (w ? `${mode}: ${w.remaining} of ${w.total} left (window ${hours(w.windowSeconds)})` : `${mode}: not offered to this account`);

/** `POST /rest/rate-limits` for `fast` (every tier) and `auto` (super and up): credential, quota, tier. */
export function checkRateLimits(ctx: AccountContext): Promise<LayerResult> {
  return timed('rate_limits', async () => {
    try {
      const signal = AbortSignal.timeout(ctx.config.timeout.first_byte_sec * 1000 + 1000);
      const client = doctorClient(ctx);
      const fast = await fetchRateLimits(client, ctx.token, 'fast', signal);
      const auto = await fetchRateLimits(client, ctx.token, 'auto', signal);
      const tier = inferTier({ fast, auto });
      const seen = `${describe('fast', fast)}; ${describe('auto', auto)}${tier ? `; tier ${tier}` : ''}.`;
      if (fast && fast.remaining === 0) return layer('rate_limits', 'warn', seen, 'The fast quota is used up, so the chat checks below are refused until its window resets: wait, or run the doctor on another account.');
      return layer('rate_limits', 'ok', seen);
    } catch (e) {
      return failedLayer('rate_limits', e, ctx);
    }
  });
}
