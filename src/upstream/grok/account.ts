import type { AccountUpstream } from '../types.js';
import { isGrokAntiBot } from './classify.js';
import type { GrokClient } from './client.js';
import { enableNsfw } from './nsfw.js';
import { fetchImagineQuota, fetchRateLimits, inferTier } from './quota.js';

/** grok.com accounts behind the provider interface: rate-limit and imagine quota, tier, NSFW setup, anti-bot recovery. */
export function createGrokAccountUpstream(client: GrokClient): AccountUpstream {
  return {
    quota: (token, mode, signal) => fetchRateLimits(client, token, mode, signal),
    mediaQuota: (token, signal) => fetchImagineQuota(client, token, signal),
    inferTier,
    enableNsfw: (token, done) => enableNsfw(client, token, done),
    isAntiBot: isGrokAntiBot,
    refreshIdentity: (token) => client.transport.refreshIdentity(token),
  };
}
