/**
 * The account-setup endpoints of the NSFW enablement (docs/upstream-grok.md §8):
 * gRPC-web `SetTosAcceptedVersion` (accounts.x.ai) and `UpdateUserFeatureControls` (grok.com),
 * and REST `set-birth-date`. Frames are checked byte for byte; answers carry the status in a
 * trailer frame, as grpc-web does. A dead credential gets grpc-status 16 in a 200, like gRPC.
 */
import { admit, jsonObject, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import type { UserSettings } from './types.js';

export const TOS_PATH = '/auth_mgmt.AuthManagement/SetTosAcceptedVersion';
export const NSFW_PATH = '/auth_mgmt.AuthManagement/UpdateUserFeatureControls';
export const BIRTH_DATE_PATH = '/rest/auth/set-birth-date';
export const PRODUCT_TOS_PATH = '/rest/auth/set-tos-accepted';
/** The terms version grok.com's web client accepts since 2026-07-18. */
export const CURRENT_TOS_VERSION = 5;

const TOS_FRAME = Buffer.from('00000000021001', 'hex');
const NAME = Buffer.from('always_show_nsfw_content', 'ascii');
const nsfwFrame = (on: boolean) => Buffer.concat([Buffer.from([0, 0, 0, 0, 0x20, 0x0a, 0x02, 0x10, on ? 1 : 0, 0x12, 0x1a, 0x0a, 0x18]), NAME]);

const settings = new WeakMap<FakeState, Map<string, UserSettings>>();

export function userSettings(state: FakeState, token: string): UserSettings {
  let book = settings.get(state);
  if (!book) settings.set(state, (book = new Map()));
  let s = book.get(token);
  if (!s) book.set(token, (s = { tosVersion: null, productTosVersion: null, birthDate: null, nsfw: false }));
  return s;
}

function grpcAnswer(ex: Exchange, code: number, message = ''): void {
  const trailer = Buffer.from(`grpc-status:${code}\r\ngrpc-message:${encodeURIComponent(message)}\r\n`);
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(trailer.length, 1);
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), head, trailer]);
  ex.res.writeHead(200, { 'content-type': 'application/grpc-web+proto', 'content-length': body.length });
  ex.res.end(body);
}

/** Session and headers checks shared by both gRPC calls; null when already answered. */
function grpcAdmit(state: FakeState, ex: Exchange): string | null {
  const token = ex.rec.token;
  if (token && state.accounts.get(token).behavior.state === 'invalid') {
    grpcAnswer(ex, 16, 'invalid-credentials');
    return null;
  }
  if (!admit(state, ex, false)) return null;
  const h = ex.req.headers;
  if (h['content-type'] !== 'application/grpc-web+proto' || h['x-grpc-web'] !== '1') {
    grpcAnswer(ex, 3, 'not a grpc-web request');
    return null;
  }
  return token!;
}

export function handleTos(state: FakeState, ex: Exchange): void {
  const token = grpcAdmit(state, ex);
  if (!token) return;
  if (!ex.rawBody?.equals(TOS_FRAME)) return grpcAnswer(ex, 3, 'bad SetTosAcceptedVersion frame');
  userSettings(state, token).tosVersion = 1;
  grpcAnswer(ex, 0);
}

export function handleNsfw(state: FakeState, ex: Exchange): void {
  const token = grpcAdmit(state, ex);
  if (!token) return;
  const on = ex.rawBody?.equals(nsfwFrame(true));
  if (!on && !ex.rawBody?.equals(nsfwFrame(false))) return grpcAnswer(ex, 3, 'bad UpdateUserFeatureControls frame');
  const s = userSettings(state, token);
  // grok.com only shows NSFW content to adults who accepted the terms, on x.ai and on grok.com.
  if (on && (s.tosVersion === null || (s.productTosVersion ?? 0) < CURRENT_TOS_VERSION || s.birthDate === null)) {
    return grpcAnswer(ex, 9, 'terms of service or birth date missing');
  }
  s.nsfw = !!on;
  grpcAnswer(ex, 0);
}

export function handleBirthDate(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const body = jsonObject(ex);
  const date = typeof body?.birthDate === 'string' ? Date.parse(body.birthDate) : NaN;
  if (Number.isNaN(date)) return sendJson(ex.res, 400, { code: 3, message: 'birthDate must be an ISO 8601 date' });
  const s = userSettings(state, acct.token);
  if (s.birthDate !== null) return sendJson(ex.res, 429, { code: 8, message: '[WKE=account:birth-date-change-limit-reached]' });
  s.birthDate = new Date(date).toISOString();
  sendJson(ex.res, 200, {});
}

/** POST /rest/auth/set-tos-accepted {"tosVersion": 5}: grok.com's own record of the accepted terms. */
export function handleProductTos(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const version = jsonObject(ex)?.tosVersion;
  if (version !== CURRENT_TOS_VERSION) return sendJson(ex.res, 400, { code: 3, message: `tosVersion must be the current terms version (${CURRENT_TOS_VERSION})` });
  userSettings(state, acct.token).productTosVersion = version;
  sendJson(ex.res, 200, {});
}
