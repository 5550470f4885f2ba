/**
 * What `npm run doctor` (and `POST /admin/api/tokens/{id}/doctor`) answers: one account checked
 * end to end, layer by layer from the network up, each with what was seen and the one next step
 * for the operator. The same JSON in the CLI's `--json`, the admin API and the admin console.
 */

export type LayerId = 'dns' | 'tcp_tls' | 'cloudflare' | 'session' | 'rate_limits' | 'chat_rest' | 'chat_ws' | 'imagine_ws';

/** `skip`: not applicable (an IP literal has no DNS) or not tried because a lower layer failed. */
export type LayerStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface LayerResult {
  id: LayerId;
  title: string;
  status: LayerStatus;
  /** What the doctor saw, in one or two sentences (never a token or a proxy password). */
  seen: string;
  /** The operator's next step in one sentence; null when there is nothing to do. */
  next: string | null;
  /** The server's error code for a failure (`upstream_auth_failed`, …), as clients would get it. */
  code: string | null;
  ms: number;
}

/** Who the server says it is to grok.com: the TLS client and the browser it impersonates. */
export interface ClientSummary {
  /** `wreq` (Chrome's TLS and HTTP/2, BoringSSL) or `undici` (Node's own TLS). */
  transport: string;
  /** `chrome_149`, or null when the client impersonates nothing (undici). */
  profile: string | null;
  os: string | null;
  user_agent: string;
  /** ALPN protocols offered in the ClientHello of HTTP requests and of WebSocket upgrades. */
  alpn: string[];
  websocket_alpn: string[];
}

export interface DoctorReport {
  verdict: 'ok' | 'warn' | 'fail';
  /** One sentence: healthy, or which layer refused and what to do. */
  summary: string;
  account: { id: string | null; token: string };
  base_url: string;
  /** The egress (masked proxy URL, or `direct`) the account's requests went out through, when known. */
  egress: string | null;
  client: ClientSummary;
  layers: LayerResult[];
  started_at: string;
  duration_ms: number;
}

export const LAYER_TITLES: Record<LayerId, string> = {
  dns: 'DNS',
  tcp_tls: 'TCP + TLS',
  cloudflare: 'Cloudflare',
  session: 'Session',
  rate_limits: 'Rate limits',
  chat_rest: 'Chat turn (REST)',
  chat_ws: 'Chat turn (WebSocket)',
  imagine_ws: 'Imagine WebSocket',
};

/** The whole report's verdict: the worst layer wins (`skip` counts as nothing). */
export function verdictOf(layers: LayerResult[]): DoctorReport['verdict'] {
  if (layers.some((l) => l.status === 'fail')) return 'fail';
  if (layers.some((l) => l.status === 'warn')) return 'warn';
  return 'ok';
}

/** The summary sentence: the first failing (else warning) layer and its next step. */
export function summaryOf(layers: LayerResult[]): string {
  const worst = layers.find((l) => l.status === 'fail') ?? layers.find((l) => l.status === 'warn');
  if (!worst) return 'grok.com accepts this account on every layer: chat works over REST and the WebSocket, and the imagine socket opens.';
  const what = worst.status === 'fail' ? 'Failed at' : 'Warning at';
  return `${what} ${worst.title}: ${worst.next ?? worst.seen}`;
}
