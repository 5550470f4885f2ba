import type { GrokClient } from './client.js';

/** `https://grok.com[/prefix]` → `wss://grok.com[/prefix]/ws/mgw/?uid=<uuid>` (docs/upstream-grok.md §3.1). */
export function gatewayUrl(baseUrl: string, uid: string): string {
  const u = new URL(baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/ws/mgw/`;
  u.search = `?uid=${encodeURIComponent(uid)}`;
  return u.href;
}

/** The upgrade's headers (docs/upstream-grok.md §1.3, HEAD mgw): no statsig, no request id, the cookie plus `x-userid`. */
export function gatewayHeaders(client: GrokClient, token: string, uid: string): Record<string, string> {
  return {
    Origin: client.origin,
    'User-Agent': client.userAgent(token),
    'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8',
    'Cache-Control': 'no-cache',
    Pragma: 'no-cache',
    Cookie: `${client.cookie(token)}; x-userid=${uid}`,
  };
}
