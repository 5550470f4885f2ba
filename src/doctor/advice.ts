import type { Config } from '../config/schema.js';
import type { UpstreamError } from '../errors.js';
import type { LayerStatus } from './report.js';

/**
 * The operator's next step for a classified failure. The classifier (upstream/grok/classify.ts)
 * already says what happened; this says what to do about it, in one sentence, naming the setting.
 */

export interface Advice {
  status: Extract<LayerStatus, 'warn' | 'fail'>;
  next: string;
}

export interface AdviceContext {
  config: Config;
  /** The egress the request went out through (masked), when known. */
  egress: string | null;
  /** What the egress relay saw when it dialled (e.g. `connect ECONNREFUSED 1.2.3.4:443`). */
  dialError: string | null;
}

/** The Cloudflare advice (also used by the Cloudflare layer itself). */
export function cloudflareAdvice(ctx: AdviceContext): string {
  const egress = ctx.egress ?? 'this egress';
  const solver = ctx.config.grok.flaresolverr_url.trim();
  if (solver) {
    return `Cloudflare challenged egress ${egress} and FlareSolverr (${solver}) did not clear it: check that FlareSolverr runs and reaches grok.com through the same egress, or move the account to another egress (grok.egress_proxies).`;
  }
  return `Cloudflare challenged egress ${egress}: set FLARESOLVERR_URL, or set grok.cf_clearance and grok.user_agent from a browser on the same IP, or use another egress (grok.egress_proxies).`;
}

/** A failure to connect at all: which of DNS, refusal, timeout, TLS or the proxy it was. */
export function connectAdvice(e: UpstreamError, host: string, ctx: AdviceContext): string {
  const why = `${ctx.dialError ?? ''} ${e.message}`;
  const viaProxy = ctx.egress && ctx.egress !== 'direct' ? ` through the egress proxy ${ctx.egress}` : '';
  if (/\b407\b|proxy auth|authentication|password/i.test(ctx.dialError ?? '')) return `The egress proxy ${ctx.egress} refused the credentials: check the user and password in its URL.`;
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(why)) return `The host does not resolve${viaProxy}: check grok.base_url (GROK_BASE_URL) and the DNS of this machine or of the proxy.`;
  if (/ECONNREFUSED|refused/i.test(why)) {
    return viaProxy
      ? `The connection was refused${viaProxy}: check that the proxy runs and that its URL (host and port) is right.`
      : `Nothing accepts connections at ${host}: check the port in grok.base_url, or route through an egress proxy (PROXY_URL) if a firewall rejects the connection.`;
  }
  if (e.code === 'upstream_timeout' || /ETIMEDOUT|timed out/i.test(why)) {
    return `Connecting to ${host} timed out${viaProxy}: a firewall may drop the traffic; route through an egress proxy (PROXY_URL, grok.egress_proxies) or raise timeout.connect_sec.`;
  }
  if (/certificate|CERT|self.signed|UPSTREAM_TLS/i.test(why) && !ctx.dialError) {
    return `The TLS handshake with ${host} failed: behind a TLS-inspecting corporate proxy, set grok.ca_file (GROK_CA_FILE) to its CA certificate.`;
  }
  return `The connection to ${host} was cut${viaProxy}: check the egress and run again; LOG_LEVEL=debug logs each upstream failure.`;
}

/** Advice for a classified failure of one of the account layers (session, rate limits, chat, imagine). */
export function adviceFor(e: UpstreamError, host: string, ctx: AdviceContext): Advice {
  const fail = (next: string): Advice => ({ status: 'fail', next });
  const warn = (next: string): Advice => ({ status: 'warn', next });
  switch (e.code) {
    case 'upstream_auth_failed':
      return fail("grok.com rejects this account's sso token (expired, signed out or blocked): sign in to grok.com in a browser, copy the new sso cookie and import it again.");
    case 'upstream_anti_bot':
      if (/cloudflare/i.test(e.message)) return fail(cloudflareAdvice(ctx));
      return fail(
        `grok.com's anti-bot rules refused the request through egress ${ctx.egress ?? 'this egress'} (code 7; the account is not at fault): keep grok.statsig_mode = "x1", leave grok.user_agent empty or matching the TLS profile, and give the egress a Cloudflare clearance (FLARESOLVERR_URL) or use another egress.`,
      );
    case 'upstream_rate_limited': {
      const after = e.retryAfterMs ? ` (Retry-After ${Math.ceil(e.retryAfterMs / 1000)} s)` : '';
      return warn(`grok.com is rate-limiting this account${after}: wait and run the doctor again; the pool cools the account down by itself.`);
    }
    case 'upstream_quota_exhausted':
      return warn("This mode's quota of the account is used up: wait for its window to reset (Accounts page, quota bars) or check with another account.");
    case 'upstream_forbidden':
      return fail(`grok.com refused with 403 without saying why: the egress's IP (${ctx.egress ?? 'direct'}) is the usual cause; try a residential egress proxy (grok.egress_proxies).`);
    case 'upstream_unavailable':
      return warn('grok.com itself is failing (HTTP 5xx): try again in a few minutes.');
    case 'upstream_timeout':
    case 'upstream_unreachable':
      return fail(connectAdvice(e, host, ctx));
    case 'upstream_degraded_answer':
      return fail('grok.com serves this account degraded answers (risk control): use other accounts for thinking models, or set retry.require_reasoning = false to accept such answers.');
    case 'upstream_bad_response':
    case 'upstream_stream_error':
    case 'upstream_empty_answer':
      return fail("grok.com answered in a way this server does not understand (its web protocol may have changed): update grok2api, or try grok.chat_transport the other way; LOG_LEVEL=debug logs the frames it could not read.");
    default:
      return fail(`Unexpected failure (${e.code}): run with LOG_LEVEL=debug and report it with this output.`);
  }
}
