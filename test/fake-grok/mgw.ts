/**
 * The fake mgw WebSocket gateway (docs/upstream-grok.md §3) plus `/api/auth/session`.
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
import { CHALLENGE_HEADERS, CHALLENGE_PAGE, type Exchange, type FakeState } from './exchange.js';
import { parseCookies, sendJson } from './http.js';
import { chunkEvent, isErrorFrame, newConvertState, restLineToMgw } from './mgw-convert.js';
import { ERROR_BODIES } from './ndjson.js';
import { forAccount, planTurn } from './scenarios.js';
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
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'OK';
  const all = { 'content-type': 'application/json', ...headers };
  const extra = Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/** Why the gateway's edge refuses an account before any upgrade (null: it lets it through). */
export function gatewayRefusal(state: FakeState, token: string | null): { status: number; body: string; headers: Record<string, string> } | null {
  if (!token) return { status: 401, body: ERROR_BODIES.invalidCredentials, headers: {} };
  const b = state.accounts.get(token).behavior;
  if (b.state === 'invalid') return { status: 401, body: ERROR_BODIES.invalidCredentials, headers: {} };
  if (b.state === 'antibot') return { status: 403, body: ERROR_BODIES.antiBot, headers: {} };
  if (b.state === 'blocked') return { status: 403, body: ERROR_BODIES.blocked, headers: {} };
  if (b.state === 'limited') return { status: 429, body: ERROR_BODIES.tooManyRequests, headers: { 'retry-after': String(b.retryAfterSec ?? 60) } };
  if (b.state === 'challenge') return { status: 403, body: CHALLENGE_PAGE, headers: CHALLENGE_HEADERS };
  if (b.state === 'unavailable') return { status: 503, body: ERROR_BODIES.internal, headers: {} };
  return null;
}

/**
 * A plain GET on the gateway path: the edge checks the account exactly as for an upgrade (so a
 * client that cannot read a refused upgrade's body learns the reason this way), and a request it
 * lets through is told to upgrade (426).
 */
export function handleGatewayGet(state: FakeState, ex: Exchange): void {
  const refusal = gatewayRefusal(state, ex.rec.token);
  if (refusal?.body === CHALLENGE_PAGE) return void ex.res.writeHead(refusal.status, refusal.headers).end(refusal.body);
  if (refusal) return sendJson(ex.res, refusal.status, JSON.parse(refusal.body), refusal.headers);
  sendJson(ex.res, 426, { error: { code: 426, message: 'Upgrade Required' } }, { upgrade: 'websocket' });
}

/** Hooks the gateway into the fake's http server ('upgrade' event). */
/** `bench`: benchmark mode answers gateway upgrades itself (bench-mode.ts) when it takes them. */
export function attachMgw(state: FakeState, server: import('node:http').Server, bench?: { upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean }): void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (bench?.upgrade(req, socket, head)) return;
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
    const refusal = gatewayRefusal(state, token);
    if (refusal) return refuse(socket, refusal.status, refusal.body, refusal.headers);
    const b = state.accounts.get(token!).behavior;
    if (b.state === 'reset') {
      // The connection closes before any response to the upgrade request.
      turn.destroyedByServer = true;
      socket.destroy();
      return;
    }
    if (b.state === 'garbage') {
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${GARBAGE_PAGE.length}\r\nconnection: close\r\n\r\n${GARBAGE_PAGE}`);
      return;
    }
    const uid = userUuid(token!);
    if (url.searchParams.get('uid') !== uid || cookies['x-userid'] !== uid) return refuse(socket, 400, JSON.stringify({ error: { code: 3, message: 'uid / x-userid mismatch' } }));
    wss.handleUpgrade(req, socket, head, (ws) => runSession(state, ws, rec, token!, turn));
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
  const plan = forAccount(planTurn(scenario, ids, message, state.defaultAnswer), acct.behavior.state, ids, message);
  const cutAfter = Math.max(0, acct.behavior.dropAfterFrames ?? 3);
  const dropAfter = acct.behavior.state === 'drop' ? cutAfter : undefined;
  const stallAfter = acct.behavior.state === 'stall' ? cutAfter : undefined;
  const conv = newConvertState(ids.responseId);
  // The response opens as captured from grok.com in 2026-10: which mode serves it, then its layout.
  send(JSON.stringify({
    session_id: '',
    event: {
      type: 'response.created',
      client_event_id: event?.event_id,
      response: { id: ids.responseId, status: 'in_progress', output_modalities: ['text'], x_grok: { created_at: Date.now(), model: mode } },
    },
  }));
  send(chunkEvent({ ui_layout: { reasoning_ui_layout: 'UNIFIED' } }, conv));
  for (const [i, f] of plan.frames.entries()) {
    // 'drop' cuts after as many REST lines as it would on REST, so both transports lose the same content.
    if (dropAfter !== undefined && i >= dropAfter) {
      turn.destroyedByServer = true;
      ws.terminate();
      return;
    }
    // 'stall' goes silent with the socket open, as many REST lines in as on REST.
    if (stallAfter !== undefined && i >= stallAfter) return;
    if (f.delayMs > 0) await sleep(f.delayMs);
    if (turn.closed) return;
    for (const out of restLineToMgw(f.line, conv, f.channel)) {
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
  if (plan.truncated) {
    // The answer stops without response.done, on a cleanly closed socket.
    ws.close(1000);
    return;
  }
  send(JSON.stringify({ session_id: '', event: { type: 'response.done', response: { id: conv.responseId ?? ids.responseId, status: 'completed', output_modalities: ['text'] } } }));
  // grok.com's notetaker lags behind the answer: its last step titles come after response.done,
  // with an empty response id, then the follow-up suggestions (2026-10 frames).
  if (!plan.lateSteps) return;
  for (const text of plan.lateSteps) {
    conv.step++;
    if (ws.readyState === ws.OPEN) send(chunkEvent({ text: { text, channel: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER' } }, { ...conv, phase: 1 }, ''));
  }
  if (ws.readyState === ws.OPEN) send(chunkEvent({ follow_up_suggestions: { suggestions: [{ properties: { message_type: 'TEXT', follow_up_type: 'DIVE_DEEPER' }, label: 'Tell me more' }] } }, conv));
}
