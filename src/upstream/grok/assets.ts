import type { GrokTransport } from './transport/index.js';
import type { Config } from '../../config/schema.js';
import { readBounded, upstreamTimeouts } from '../http-client.js';
import { classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import { buildCookie, userAgentFor } from './headers.js';

/** Hosts generated media may come from besides the configured origins (spec §2.8, G). */
const PUBLIC_ASSET_HOSTS = new Set(['assets.grok.com', 'imagine-public.x.ai', 'imgen.x.ai']);

/**
 * The absolute URL of an asset: relative paths (`users/u/generated/…`) are resolved against
 * `grok.assets_url`; absolute ones are accepted only on a known asset host, so the account's
 * cookie never goes anywhere else.
 */
export function assetUrl(config: Config, pathOrUrl: string): string {
  if (!/^https?:\/\//i.test(pathOrUrl)) return `${config.grok.assets_url.replace(/\/+$/, '')}/${pathOrUrl.replace(/^\/+/, '')}`;
  const u = new URL(pathOrUrl);
  const allowed = new Set([new URL(config.grok.assets_url).host, new URL(config.grok.base_url).host]);
  if (!allowed.has(u.host) && !PUBLIC_ASSET_HOSTS.has(u.hostname)) throw upstreamErrors.badResponse(`an asset URL on an unexpected host (${u.hostname})`);
  return u.href;
}

/**
 * Downloads a generated asset with the generating account's cookie (assets are not public,
 * spec §2.8) and navigation-style headers. Bounded by `cache.max_asset_mb` and the timeouts.
 */
export async function downloadAsset(config: Config, http: GrokTransport, token: string, pathOrUrl: string, signal: AbortSignal): Promise<Buffer> {
  const url = assetUrl(config, pathOrUrl);
  const t = upstreamTimeouts(config);
  const max = config.cache.max_asset_mb * 1024 * 1024;
  try {
    const res = await http.request(url, {
      method: 'GET',
      account: token,
      signal,
      headersTimeout: t.firstByteMs,
      bodyTimeout: t.idleMs,
      headers: {
        Accept: 'image/avif,image/webp,image/apng,video/mp4,*/*;q=0.8',
        'Accept-Encoding': 'identity',
        Cookie: buildCookie(token, config.grok.cf_clearance),
        Referer: `${new URL(config.grok.base_url).origin}/`,
        'Sec-Fetch-Dest': 'document',
        'Sec-Fetch-Mode': 'navigate',
        'Sec-Fetch-Site': 'same-site',
        'Upgrade-Insecure-Requests': '1',
        'User-Agent': userAgentFor(config.grok, token),
      },
    });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > max) {
      res.body.destroy();
      throw upstreamErrors.badResponse(`an asset of ${declared} bytes, over cache.max_asset_mb`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of res.body) {
      total += (c as Buffer).length;
      if (total > max) {
        res.body.destroy();
        throw upstreamErrors.badResponse('an asset over cache.max_asset_mb');
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (signal.aborted) throw upstreamErrors.aborted();
    throw classifyNetwork(e);
  }
}
