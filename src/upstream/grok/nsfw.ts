/**
 * Account setup for NSFW content (spec upstream-media-control.md §4.5): accept the terms of
 * service (gRPC-web on accounts.x.ai), set a birth date (grok.com REST; "already set" counts as
 * done) and switch on `always_show_nsfw_content` (gRPC-web on grok.com). Failures go through the
 * classifier, so a dead credential is recognised as such.
 */
import { request, type Dispatcher } from 'undici';
import type { Config } from '../../config/schema.js';
import { decodeBody, upstreamTimeouts } from '../http-client.js';
import { classifyHttp, classifyNetwork } from './classify.js';
import { buildCookie, buildGrokHeaders, latin1Safe } from './headers.js';
import { grpcFrame, grpcStatus, grpcToHttp, nsfwPayload, TOS_PAYLOAD } from './grpc-web.js';

export type NsfwStep = 'tos' | 'birth_date' | 'nsfw';

/** grok.com's answer when the birth date was set before (G): treated as done. */
const BIRTH_DATE_ALREADY_SET = 'birth-date-change-limit-reached';

const trim = (u: string) => u.replace(/\/+$/, '');

/** A random birth date 20–40 years back, at 16:00 UTC as G sends it. */
export function randomBirthDate(now = new Date(), random = Math.random): string {
  const years = 20 + Math.floor(random() * 21);
  const d = new Date(Date.UTC(now.getUTCFullYear() - years, Math.floor(random() * 12), 1 + Math.floor(random() * 28), 16));
  return d.toISOString();
}

function grpcHeaders(config: Config, token: string, origin: string, referer: string, withCf: boolean): Record<string, string> {
  return {
    'content-type': 'application/grpc-web+proto',
    'x-grpc-web': '1',
    'x-user-agent': 'connect-es/2.1.1',
    accept: '*/*',
    origin,
    referer,
    'user-agent': latin1Safe(config.grok.user_agent),
    // accounts.x.ai gets no Cloudflare cookie of grok.com (G).
    cookie: buildCookie(token, withCf ? config.grok.cf_clearance : ''),
  };
}

async function post(config: Config, dispatcher: Dispatcher, url: string, headers: Record<string, string>, body: string | Buffer) {
  const t = upstreamTimeouts(config);
  try {
    const res = await request(url, { method: 'POST', headers, body, dispatcher, headersTimeout: t.firstByteMs, bodyTimeout: t.idleMs });
    const chunks: Buffer[] = [];
    for await (const c of decodeBody(res.body, res.headers['content-encoding'])) chunks.push(c as Buffer);
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
  } catch (err) {
    throw classifyNetwork(err);
  }
}

async function grpcCall(config: Config, dispatcher: Dispatcher, url: string, headers: Record<string, string>, payload: Buffer): Promise<void> {
  const res = await post(config, dispatcher, url, headers, grpcFrame(payload));
  if (res.status < 200 || res.status >= 300) throw classifyHttp(res.status, res.body.toString('utf8').slice(0, 65536), res.headers);
  const st = grpcStatus(res.headers, res.body, String(res.headers['content-type'] ?? ''));
  if (st.code !== 0) throw classifyHttp(grpcToHttp(st.code), st.message, {});
}

/** Runs the three steps in order; stops at the first failure (throws a classified UpstreamError). */
export async function enableNsfw(config: Config, dispatcher: Dispatcher, token: string, done: (step: NsfwStep) => void = () => {}): Promise<void> {
  const accounts = trim(config.grok.accounts_url);
  const base = trim(config.grok.base_url);
  const origin = new URL(base).origin;

  await grpcCall(config, dispatcher, `${accounts}/auth_mgmt.AuthManagement/SetTosAcceptedVersion`, grpcHeaders(config, token, new URL(accounts).origin, `${accounts}/accept-tos`, false), TOS_PAYLOAD);
  done('tos');

  const headers = { ...buildGrokHeaders(config.grok, token), Referer: `${origin}/?_s=data` };
  const res = await post(config, dispatcher, `${base}/rest/auth/set-birth-date`, headers, JSON.stringify({ birthDate: randomBirthDate() }));
  const text = res.body.toString('utf8').slice(0, 65536);
  if (!(res.status === 200 || res.status === 204 || (res.status === 429 && text.includes(BIRTH_DATE_ALREADY_SET)))) throw classifyHttp(res.status, text, res.headers);
  done('birth_date');

  await grpcCall(config, dispatcher, `${base}/auth_mgmt.AuthManagement/UpdateUserFeatureControls`, grpcHeaders(config, token, origin, `${origin}/?_s=data`, true), nsfwPayload(true));
  done('nsfw');
}
