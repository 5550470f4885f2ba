/**
 * Chrome's order for the headers of a same-origin `fetch()` (HTTP/2, lower-case names), as
 * captured from Chromium 156 (docs/upstream-identity.md §1): the browser's own headers around the
 * page's. Headers the page sets itself (content-type, then grok.com's x-* and tracing headers) sit
 * where Chrome puts content-type; `cookie` goes before `priority`, as on every Chrome h2 request.
 */
const BEFORE_PAGE = ['content-length', 'sec-ch-ua-platform', 'user-agent', 'sec-ch-ua', 'content-type'];
const AFTER_PAGE = [
  'sec-ch-ua-mobile',
  'sec-ch-ua-arch',
  'sec-ch-ua-bitness',
  'sec-ch-ua-model',
  'accept',
  'origin',
  'sec-fetch-site',
  'sec-fetch-mode',
  'sec-fetch-dest',
  'referer',
  'accept-encoding',
  'accept-language',
  'cookie',
  'priority',
];
const RANK = new Map<string, number>([...BEFORE_PAGE.map((h, i) => [h, i] as const), ...AFTER_PAGE.map((h, i) => [h, 1000 + i] as const)]);
/** Rank of a page-set header: after content-type, before sec-ch-ua-mobile, in the caller's order. */
const PAGE_RANK = 500;

/** Lower-cased, Chrome-ordered header tuples; empty values are dropped. */
export function chromeFetchOrder(headers: Record<string, string>): [string, string][] {
  const out: [string, string, number, number][] = [];
  let i = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (value === '' && name.toLowerCase() !== 'sec-ch-ua-model') continue;
    const n = name.toLowerCase();
    out.push([n, value, RANK.get(n) ?? PAGE_RANK, i++]);
  }
  out.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  return out.map(([n, v]) => [n, v]);
}

/**
 * Chrome's order for a WebSocket upgrade (HTTP/1.1, as captured): Host and Connection come from
 * the client; then these, with Cookie after Accept-Language.
 */
const WS_ORDER = ['pragma', 'cache-control', 'user-agent', 'upgrade', 'origin', 'sec-websocket-version', 'accept-encoding', 'accept-language', 'cookie'];
const WS_CASE: Record<string, string> = {
  pragma: 'Pragma',
  'cache-control': 'Cache-Control',
  'user-agent': 'User-Agent',
  origin: 'Origin',
  'accept-encoding': 'Accept-Encoding',
  'accept-language': 'Accept-Language',
  cookie: 'Cookie',
};

/** Upgrade headers in Chrome's order and Chrome's capitalisation. */
export function chromeUpgradeOrder(headers: Record<string, string>): [string, string][] {
  const entries = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
  const rank = (n: string) => {
    const r = WS_ORDER.indexOf(n);
    return r === -1 ? WS_ORDER.length : r;
  };
  entries.sort((a, b) => rank(a[0]) - rank(b[0]));
  return entries.filter(([, v]) => v !== '').map(([n, v]) => [WS_CASE[n] ?? n, v]);
}
