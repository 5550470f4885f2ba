import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountBook, AccountRecord } from './accounts.js';
import { sendJson, type ParsedBody } from './http.js';
import { ERROR_BODIES } from './ndjson.js';
import type { Recorder } from './recorder.js';
import type { ScriptBook } from './scenarios.js';
import type { RecordedRequest, UploadRecord, VideoGeneration } from './types.js';

/** Everything the handlers share. */
export interface FakeState {
  accounts: AccountBook;
  scripts: ScriptBook;
  recorder: Recorder;
  uploads: UploadRecord[];
  counters: { turn: number; file: number };
  requireStatsig: boolean;
  defaultAnswer: string;
  videoGeneration: VideoGeneration;
}

/** Cloudflare's interstitial, served with 403 and `cf-mitigated: challenge` when the edge distrusts a client. */
export const CHALLENGE_PAGE =
  '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="refresh" content="390"></head>' +
  '<body><div id="challenge-stage">Verifying you are human. This may take a few seconds.</div><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>';
export const CHALLENGE_HEADERS = { 'content-type': 'text/html; charset=UTF-8', 'cf-mitigated': 'challenge', server: 'cloudflare' };

/** One request/response pair being served. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  body: ParsedBody;
  /** The raw request body (binary gRPC-web frames). */
  rawBody?: Buffer;
  /** Aborted when the response closes for any reason, so pending delays stop at once. */
  signal: AbortSignal;
  /** True once the response (or its socket) has closed. */
  closed: boolean;
  /** Set before the fake itself destroys the socket, so that is not mistaken for a client abort. */
  destroyedByServer: boolean;
}

/** The parsed body when it is a JSON object, else null. */
export function jsonObject(ex: Exchange): Record<string, any> | null {
  const b = ex.body;
  return b.ok && b.value !== null && typeof b.value === 'object' && !Array.isArray(b.value) ? b.value : null;
}

/**
 * grok.com's edge and session checks, in the order the real site applies them: anti-bot header, session
 * cookie, then the account's standing. Sends the error and returns null when the request is refused.
 * `limitedIs429`: chat is refused for a rate-limited account, while rate-limits and uploads still answer.
 */
export function admit(state: FakeState, ex: Exchange, limitedIs429: boolean): AccountRecord | null {
  if (state.requireStatsig) {
    const statsig = ex.req.headers['x-statsig-id'];
    if (typeof statsig !== 'string' || statsig.trim() === '') {
      sendJson(ex.res, 403, ERROR_BODIES.antiBot);
      return null;
    }
  }
  const token = ex.rec.token;
  if (!token) {
    sendJson(ex.res, 401, ERROR_BODIES.invalidCredentials);
    return null;
  }
  const acct = state.accounts.get(token);
  const b = acct.behavior;
  switch (b.state) {
    case 'invalid':
      sendJson(ex.res, 401, ERROR_BODIES.invalidCredentials);
      return null;
    case 'antibot':
      sendJson(ex.res, 403, ERROR_BODIES.antiBot);
      return null;
    case 'blocked':
      sendJson(ex.res, 403, ERROR_BODIES.blocked);
      return null;
    case 'challenge':
      ex.res.writeHead(403, CHALLENGE_HEADERS).end(CHALLENGE_PAGE);
      return null;
    case 'unavailable':
      sendJson(ex.res, 503, ERROR_BODIES.internal);
      return null;
    case 'reset':
      // No status line at all: the connection closes as soon as the request arrived.
      ex.destroyedByServer = true;
      ex.res.socket?.destroy();
      return null;
    case 'limited':
      if (!limitedIs429) return acct;
      sendJson(ex.res, 429, ERROR_BODIES.tooManyRequests, { 'retry-after': String(b.retryAfterSec ?? 60) });
      return null;
    default:
      return acct;
  }
}
