/**
 * The fake mgw WebSocket gateway (spec/upstream-chat.md §3, §10 mgw) plus `/api/auth/session`.
 * Account states behave as on REST (accounts.ts), scripts answer the same (the REST lines planned
 * by scenarios.ts are converted by mgw-convert.ts), and each turn is recorded in `fake.requests`
 * under path `/ws/mgw/` with a REST-like body (`message`, `modeId`, `fileAttachments` + the raw
 * events), so tests assert the same way on both transports.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { modeAllowed } from './accounts.js';
import { IMAGINE_PATH } from './imagine.js';
import type { Exchange, FakeState } from './exchange.js';
import { parseCookies, sendJson } from './http.js';
import { isErrorFrame, newConvertState, restLineToMgw } from './mgw-convert.js';
import { ERROR_BODIES } from './ndjson.js';
import { planTurn } from './scenarios.js';
import type { RecordedRequest, Scenario } from './types.js';

export const MGW_PATH = '/ws/mgw/';
export const AUTH_SESSION_PATH = '/api/auth/session';

/** The account's grok.com user UUID (stable per token). */
export function userUuid(token: string): string {
  const h = createHash('sha256').update(`uid:${token}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * GET /api/auth/session. Account states are enforced at the gateway upgrade (as REST enforces them
 * on conversations/new), so every refusal is observable on `/ws/mgw/`; only a missing cookie is
 * "unauthenticated" here.
 */
export function handleAuthSession(state: FakeState, ex: Exchange): void {
  const token = ex.rec.token;
  if (!token) return sendJson(ex.res, 200, { status: 'unauthenticated' });
  state.accounts.get(token);
  sendJson(ex.res, 200, { status: 'authenticated', session: { userId: userUuid(token), email: 'fake@grok.invalid' } });
}

const GARBAGE_PAGE = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf</body></html>';

function refuse(socket: Duplex, status: number, body: string, headers: Record<string, string> = {}): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests' }[status] ?? 'OK';
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`);
}

/** Hooks the gateway into the fake's http server ('upgrade' event). */
export function attachMgw(state: FakeState, server: import('node:http').Server): void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://fake');
    // Each gateway's listener handles its own path; this one also answers paths nobody serves.
    if (url.pathname !== MGW_PATH) return url.pathname === IMAGINE_PATH ? undefined : refuse(socket, 404, ERROR_BODIES.notFound);
    const cookies = parseCookies(req.headers.cookie);
    const token = cookies.sso || null;
    const rec = state.recorder.add({
      method: 'GET', path: MGW_PATH, headers: req.headers, cookies, body: null, token,
      receivedAt: Date.now(), closedAt: null, clientAborted: false,
    } as Omit<RecordedRequest, 'id'>);
    // A chat counts as open from the upgrade request until the fake sent its last event (like a REST
    // response ending) or the socket closed, whichever comes first: the client's close handshake
    // after response.done must not make the next turn on the account look concurrent.
    let open = !!token;
    if (token) state.accounts.chatOpened(token);
    const endChat = () => {
      if (open && token) state.accounts.chatClosed(token);
      open = false;
    };
    const turn: Turn = { finished: false, destroyedByServer: false, closed: false, endChat };
    socket.once('close', () => {
      turn.closed = true;
      rec.closedAt = Date.now();
      rec.clientAborted = !turn.finished && !turn.destroyedByServer;
      endChat();
      state.recorder.changed();
    });
    if (!token) return refuse(socket, 401, ERROR_BODIES.invalidCredentials);
    const acct = state.accounts.get(token);
    const b = acct.behavior;
    if (b.state === 'invalid') return refuse(socket, 401, ERROR_BODIES.invalidCredentials);
    if (b.state === 'antibot') return refuse(socket, 403, ERROR_BODIES.antiBot);
    if (b.state === 'blocked') return refuse(socket, 403, ERROR_BODIES.blocked);
    if (b.state === 'limited') return refuse(socket, 429, ERROR_BODIES.tooManyRequests, { 'retry-after': String(b.retryAfterSec ?? 60) });
    if (b.state === 'garbage') {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${GARBAGE_PAGE.length}\r\nconnection: close\r\n\r\n${GARBAGE_PAGE}`);
      return;
    }
    const uid = userUuid(token);
    if (url.searchParams.get('uid') !== uid || cookies['x-userid'] !== uid) return refuse(socket, 400, JSON.stringify({ error: { code: 3, message: 'uid / x-userid mismatch' } }));
    wss.handleUpgrade(req, socket, head, (ws) => runSession(state, ws, rec, token, turn));
  });
}

interface Turn {
  /** The fake sent everything it meant to (response.done or a terminal error). */
  finished: boolean;
  destroyedByServer: boolean;
  closed: boolean;
  endChat: () => void;
}

/** One gateway session: handshake events, then one scripted turn. */
function runSession(state: FakeState, ws: WebSocket, rec: RecordedRequest, token: string, turn: Turn): void {
  const n = ++state.counters.turn;
  const sessionId = `conv_${n}`;
  let session: any = null;
  let item: any = null;
  const send = (frame: string) => ws.send(frame.replace('{"session_id":""', `{"session_id":${JSON.stringify(sessionId)}`));
  const fail = (code: string | number, message: string) => {
    turn.finished = true;
    turn.endChat();
    send(JSON.stringify({ session_id: '', event: { type: 'error', error: { code, message } } }));
  };
  ws.on('error', () => undefined);
  ws.on('message', async (data, isBinary) => {
    if (isBinary) return;
    let frame: any;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    const event = frame?.event;
    switch (event?.type) {
      case 'session.create': {
        session = event;
        const delay = state.accounts.get(token).behavior.firstByteDelayMs ?? 0;
        if (delay > 0) await sleep(delay);
        if (turn.closed) return;
        send(JSON.stringify({ session_id: '', event: { type: 'session.created', client_event_id: event.event_id, session: { id: sessionId } } }));
        send(JSON.stringify({ session_id: '', event: { type: 'conversation.attached', conversation: { id: sessionId } } }));
        return;
      }
      case 'conversation.item.create':
        item = event;
        return;
      case 'response.create':
        return respond(state, ws, rec, token, turn, session, item, event, send, fail);
      default:
        return; // ping and anything else
    }
  });
}

async function respond(state: FakeState, ws: WebSocket, rec: RecordedRequest, token: string, turn: Turn, session: any, item: any, event: any, send: (f: string) => void, fail: (c: string | number, m: string) => void): Promise<void> {
  const chunks: any[] = item?.item?.x_grok?.input_chunks ?? [];
  const message: string = chunks.map((c) => c?.text?.text).filter((t) => typeof t === 'string').join('\n');
  const mode = session?.session?.model;
  const fileAttachments: string[] = item?.file_attachment_ids ?? [];
  rec.body = { message, modeId: mode, fileAttachments, session, item, response: event };
  state.recorder.changed();
  const acct = state.accounts.get(token);
  if (!session || !item) return fail('invalid_argument', 'response.create before session.create / conversation.item.create');
  for (const id of fileAttachments) {
    if (!state.uploads.some((u) => u.id === id && u.token === token)) return fail('invalid_argument', `unknown file ${id}`);
  }
  if (!modeAllowed(acct.behavior.tier, mode)) return fail(3, 'Invalid request. Please update your client');
  const window = state.accounts.window(token, mode)!;
  if (window.remaining <= 0) return fail('rate_limited', 'Too many requests');

  const scenario: Scenario = state.scripts.find(message) ?? { kind: 'plain', answer: state.defaultAnswer };
  const ids = { conversationId: `conv_${state.counters.turn}`, userResponseId: `up_${state.counters.turn}`, responseId: `resp_${state.counters.turn}`, toolCardId: `search-${state.counters.turn}` };
  const plan = planTurn(scenario, ids, message, state.defaultAnswer);
  const dropAfter = acct.behavior.state === 'drop' ? Math.max(0, acct.behavior.dropAfterFrames ?? 3) : undefined;
  const conv = newConvertState();
  for (const [i, f] of plan.frames.entries()) {
    // 'drop' cuts after as many REST lines as it would on REST, so both transports lose the same content.
    if (dropAfter !== undefined && i >= dropAfter) {
      turn.destroyedByServer = true;
      ws.terminate();
      return;
    }
    if (f.delayMs > 0) await sleep(f.delayMs);
    if (turn.closed) return;
    for (const out of restLineToMgw(f.line, conv)) {
      send(out);
      if (isErrorFrame(out)) {
        turn.finished = true;
        turn.endChat();
        return;
      }
    }
  }
  if (plan.completesTurn) state.accounts.consume(token, mode);
  turn.finished = true;
  turn.endChat();
  send(JSON.stringify({ session_id: '', event: { type: 'response.done', response: { id: conv.responseId ?? ids.responseId, status: 'completed' } } }));
}
