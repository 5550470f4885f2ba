import type { Config } from '../../config/schema.js';
import type { AccountUpstream } from '../types.js';
import { isGrokAntiBot } from './classify.js';
import { enableNsfw } from './nsfw.js';
import { fetchImagineQuota, fetchRateLimits, inferTier } from './quota.js';
import type { GrokTransport } from './transport/index.js';

/** grok.com accounts behind the provider interface: rate-limit and imagine quota, tier, NSFW setup, anti-bot recovery. */
export function createGrokAccountUpstream(config: () => Config, grok: GrokTransport): AccountUpstream {
  return {
    quota: (token, mode, signal) => fetchRateLimits(config(), grok, token, mode, signal),
    mediaQuota: (token, signal) => fetchImagineQuota(config(), grok, token, signal),
    inferTier,
    enableNsfw: (token, done) => enableNsfw(config(), grok, token, done),
    isAntiBot: isGrokAntiBot,
    refreshIdentity: (token) => grok.refreshIdentity(token),
  };
}
