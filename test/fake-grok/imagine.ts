import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { addAsset } from './assets.js';
import type { FakeState } from './exchange.js';
import { parseCookies } from './http.js';
import { colourFor, makePng } from './media-fixtures.js';
import type { RecordedRequest } from './types.js';

/**
 * The imagine WebSocket, `/ws/imagine/listen` (docs/upstream-grok.md §7.1):
 * handshake refused with 401 (no or invalid token), 403 (blocked / anti-bot) or 429 (limited);
 * per prompt it runs `num_generations` slots, interleaving `json start_stage`, a partial
 * `image` (50 %), the final `image` (100 %) and `json completed` — slot 0's `completed` arrives
 * before its final image, as grok.com does. Markers in the prompt: `[moderated]` (every slot
 * moderated), `[moderate-one]` (slot 0), `[ratelimit]` (error frame), `[keepopen]` (socket stays
 * open after the round). Each prompt is recorded as a request with path `/ws/imagine/listen`.
 */

export const IMAGINE_PATH = '/ws/imagine/listen';

function refuse(socket: Duplex, status: number, text: string): void {
  const body = JSON.stringify({ error: { code: status, message: text } });
  socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
}

export function attachImagine(server: Server, state: FakeState): void {
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    // Other paths belong to the other upgrade listener (mgw.ts), which answers unknown ones with 404.
    if (path !== IMAGINE_PATH) return;
    const token = parseCookies(req.headers.cookie).sso;
    const behavior = token ? state.accounts.get(token).behavior : null;
    if (!token || behavior!.state === 'invalid') return refuse(socket, 401, 'Unauthorized');
    if (behavior!.state === 'blocked' || behavior!.state === 'antibot') return refuse(socket, 403, 'Forbidden');
    if (behavior!.state === 'limited') return refuse(socket, 429, 'Too Many Requests');
    wss.handleUpgrade(req, socket, head, (ws) => serve(state, ws, req, token));
  });
  server.on('close', () => wss.close());
}

function serve(state: FakeState, ws: WebSocket, req: IncomingMessage, token: string): void {
  const acct = state.accounts.get(token);
  const origin = `http://${req.headers.host}`;
  let busy = Promise.resolve();
  ws.on('message', (data) => {
    let msg: any;
    try {
      msg = JSON.parse(String(data));
    } catch {
      return ws.send(JSON.stringify({ type: 'error', err_code: 'invalid_message', err_msg: 'not JSON' }));
    }
    const content = msg?.item?.content?.[0];
    if (msg?.type !== 'conversation.item.create' || !content) return ws.send(JSON.stringify({ type: 'error', err_code: 'invalid_message', err_msg: 'unknown message' }));
    if (content.type === 'reset') return;
    if (content.type !== 'input_text' || typeof content.text !== 'string') return ws.send(JSON.stringify({ type: 'error', err_code: 'invalid_message', err_msg: 'bad content' }));
    const rec = { method: 'WS', path: IMAGINE_PATH, headers: req.headers, cookies: parseCookies(req.headers.cookie), body: msg, token, receivedAt: Date.now(), closedAt: null, clientAborted: false } as Omit<RecordedRequest, 'id'>;
    state.recorder.add(rec);
    busy = busy.then(() => round(state, ws, content, acct.userId, token, origin)).catch(() => ws.terminate());
  });
}

async function round(state: FakeState, ws: WebSocket, content: any, userId: string, token: string, origin: string): Promise<void> {
  const prompt: string = content.text;
  const props = content.properties ?? {};
  const n = Math.min(10, Math.max(1, Number(props.num_generations ?? 1)));
  const send = (o: unknown) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(o));
  if (prompt.includes('[ratelimit]')) {
    send({ type: 'error', err_code: 'rate_limit_exceeded', err_msg: 'Image rate limit exceeded' });
    return;
  }
  state.accounts.consumeImagine(token, props.enable_pro === true ? 'imagePro' : 'image');
  const base = ++state.counters.turn;
  const slots = Array.from({ length: n }, (_, i) => ({ id: `img-${base}-${i}`, order: i, colour: colourFor(base * 10 + i) }));
  const moderated = (i: number) => prompt.includes('[moderated]') || (i === 0 && prompt.includes('[moderate-one]'));
  for (const s of slots) send({ type: 'json', current_status: 'start_stage', image_id: s.id, order: s.order, width: 32, height: 32 });
  await sleep(5);
  for (const s of slots) {
    send({ type: 'image', id: s.id, order: s.order, percentage_complete: 50, url: `${origin}/imagine-public/images/${s.id}.png`, blob: makePng(8, 8, s.colour).toString('base64') });
  }
  await sleep(5);
  // Reverse order, and slot 0's completed before its final image: clients must not rely on order.
  for (const s of [...slots].reverse()) {
    if (moderated(s.order)) {
      send({ type: 'json', current_status: 'completed', image_id: s.id, order: s.order, moderated: true, r_rated: false });
      continue;
    }
    const png = makePng(32, 32, s.colour);
    const path = addAsset(state, `users/${userId}/generated/${s.id}/image.png`, { bytes: png, mime: 'image/png', owner: token });
    const final = { type: 'image', id: s.id, order: s.order, percentage_complete: 100, url: `${origin}/${path}`, blob: png.toString('base64') };
    const done = { type: 'json', current_status: 'completed', image_id: s.id, order: s.order, moderated: false, r_rated: false };
    if (s.order === 0) send(done), send(final);
    else send(final), send(done);
  }
  if (!prompt.includes('[keepopen]')) {
    await sleep(5);
    ws.close(1000, 'done');
  }
}
