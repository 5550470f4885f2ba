/**
 * Account setup for NSFW content (docs/upstream-grok.md §8): accept the terms of
 * service (gRPC-web on accounts.x.ai, then grok.com's own `set-tos-accepted` with the current
 * version), set a birth date (grok.com REST; "already set" counts as done) and switch on
 * `always_show_nsfw_content` (gRPC-web on grok.com). Failures go through the
 * classifier, so a dead credential is recognised as such.
 */
import type { GrokClient } from './client.js';
import { grpcFrame, grpcStatus, grpcToHttp, nsfwPayload, TOS_PAYLOAD } from './grpc-web.js';

/** `tos`: accepted on accounts.x.ai; `tos_product`: recorded by grok.com itself (needed since 2026-07-18). */
export type NsfwStep = 'tos' | 'tos_product' | 'birth_date' | 'nsfw';

/** The terms version grok.com's web client accepts (since 2026-07-18). */
export const CURRENT_TOS_VERSION = 5;

/** grok.com's answer when the birth date was set before (G): treated as done. */
const BIRTH_DATE_ALREADY_SET = 'birth-date-change-limit-reached';

/** A random birth date 20–40 years back, at 16:00 UTC as G sends it. */
export function randomBirthDate(now = new Date(), random = Math.random): string {
  const years = 20 + Math.floor(random() * 21);
  const d = new Date(Date.UTC(now.getUTCFullYear() - years, Math.floor(random() * 12), 1 + Math.floor(random() * 28), 16));
  return d.toISOString();
}

function grpcHeaders(client: GrokClient, token: string, origin: string, referer: string, withCf: boolean): Record<string, string> {
  return {
    'content-type': 'application/grpc-web+proto',
    'x-grpc-web': '1',
    'x-user-agent': 'connect-es/2.1.1',
    accept: '*/*',
    origin,
    referer,
    'user-agent': client.userAgent(token),
    // accounts.x.ai gets no Cloudflare cookie of grok.com (G).
    cookie: client.cookie(token, withCf),
  };
}

async function post(client: GrokClient, token: string, url: string, headers: Record<string, string>, body: string | Buffer) {
  try {
    const res = await client.request(url, { method: 'POST', account: token, headers, body });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
  } catch (err) {
    throw client.classifyNetwork(err);
  }
}

async function grpcCall(client: GrokClient, token: string, url: string, headers: Record<string, string>, payload: Buffer): Promise<void> {
  const res = await post(client, token, url, headers, grpcFrame(payload));
  if (res.status < 200 || res.status >= 300) throw client.classifyHttp(res.status, res.body.toString('utf8').slice(0, 65536), res.headers);
  const st = grpcStatus(res.headers, res.body, String(res.headers['content-type'] ?? ''));
  if (st.code !== 0) throw client.classifyHttp(grpcToHttp(st.code), st.message, {});
}

/** Runs the steps in order; stops at the first failure (throws a classified UpstreamError). */
export async function enableNsfw(client: GrokClient, token: string, done: (step: NsfwStep) => void = () => {}): Promise<void> {
  const accounts = client.accountsUrl;
  const base = client.baseUrl;
  const origin = client.origin;

  await grpcCall(client, token, `${accounts}/auth_mgmt.AuthManagement/SetTosAcceptedVersion`, grpcHeaders(client, token, new URL(accounts).origin, `${accounts}/accept-tos`, false), TOS_PAYLOAD);
  done('tos');

  // grok.com keeps its own record of the accepted terms, set after accounts.x.ai's.
  const tos = await post(client, token, `${base}/rest/auth/set-tos-accepted`, { ...client.headers(token), Referer: `${origin}/` }, JSON.stringify({ tosVersion: CURRENT_TOS_VERSION }));
  if (tos.status < 200 || tos.status >= 300) throw client.classifyHttp(tos.status, tos.body.toString('utf8').slice(0, 65536), tos.headers);
  done('tos_product');

  const headers = { ...client.headers(token), Referer: `${origin}/?_s=data` };
  const res = await post(client, token, `${base}/rest/auth/set-birth-date`, headers, JSON.stringify({ birthDate: randomBirthDate() }));
  const text = res.body.toString('utf8').slice(0, 65536);
  if (!(res.status === 200 || res.status === 204 || (res.status === 429 && text.includes(BIRTH_DATE_ALREADY_SET)))) throw client.classifyHttp(res.status, text, res.headers);
  done('birth_date');

  await grpcCall(client, token, `${base}/auth_mgmt.AuthManagement/UpdateUserFeatureControls`, grpcHeaders(client, token, origin, `${origin}/?_s=data`, true), nsfwPayload(true));
  done('nsfw');
}
