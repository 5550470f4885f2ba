import { readBounded } from '../http-client.js';
import type { GrokClient } from './client.js';

/** Hosts generated media may come from besides the configured origins (docs/upstream-grok.md §7.6, G). */
const PUBLIC_ASSET_HOSTS = new Set(['assets.grok.com', 'imagine-public.x.ai', 'imgen.x.ai']);

/**
 * The absolute URL of an asset: relative paths (`users/u/generated/…`) are resolved against
 * `grok.assets_url`; absolute ones are accepted only on a known asset host, so the account's
 * cookie never goes anywhere else.
 */
export function assetUrl(client: GrokClient, pathOrUrl: string): string {
  if (!/^https?:\/\//i.test(pathOrUrl)) return `${client.assetsUrl}/${pathOrUrl.replace(/^\/+/, '')}`;
  const u = new URL(pathOrUrl);
  const allowed = new Set([new URL(client.assetsUrl).host, new URL(client.baseUrl).host]);
  if (!allowed.has(u.host) && !PUBLIC_ASSET_HOSTS.has(u.hostname)) throw client.errors.badResponse(`an asset URL on an unexpected host (${u.hostname})`);
  return u.href;
}

/**
 * Downloads a generated asset with the generating account's cookie (assets are not public,
 * docs/upstream-grok.md §7.6) and navigation-style headers. Bounded by `cache.max_asset_mb` and the timeouts.
 */
export async function downloadAsset(client: GrokClient, token: string, pathOrUrl: string, signal: AbortSignal): Promise<Buffer> {
  const url = assetUrl(client, pathOrUrl);
  const max = client.config.cache.max_asset_mb * 1024 * 1024;
  try {
    const res = await client.request(url, {
      method: 'GET',
      account: token,
      signal,
      headers: {
        Accept: 'image/avif,image/webp,image/apng,video/mp4,*/*;q=0.8',
        'Accept-Encoding': 'identity',
        Cookie: client.cookie(token),
        Referer: `${client.origin}/`,
        'Sec-Fetch-Dest': 'document',
        'Sec-Fetch-Mode': 'navigate',
        'Sec-Fetch-Site': 'same-site',
        'Upgrade-Insecure-Requests': '1',
        'User-Agent': client.userAgent(token),
      },
    });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw client.classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    }
    const declared = Number(res.headers['content-length'] ?? 0);
    if (declared > max) {
      res.body.destroy();
      throw client.errors.badResponse(`an asset of ${declared} bytes, over cache.max_asset_mb`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of res.body) {
      total += (c as Buffer).length;
      if (total > max) {
        res.body.destroy();
        throw client.errors.badResponse('an asset over cache.max_asset_mb');
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (signal.aborted) throw client.errors.aborted();
    throw client.classifyNetwork(e);
  }
}
