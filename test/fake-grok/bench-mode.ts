/**
 * Benchmark mode of the fake grok.com: every chat turn answers the same fixed text of N tokens with
 * a fixed inter-token delay (first token at once, no jitter), without accounts, quotas or the
 * request recorder, so the fake costs as little as possible and never grows in memory. The same
 * answer is served OpenAI-shaped at /v1/chat/completions (openai-endpoint.ts) as the "direct"
 * floor the proxy is compared with. Control: GET/PUT /__bench/config {tokens, delayMs},
 * GET /__bench/state {open, served}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseCookies } from './http.js';
import { chunkEvent, newConvertState, restLineToMgw } from './mgw-convert.js';
import { userUuid } from './mgw.js';
import { answerTokenLine, conversationLine, finalMetadataLine, modelResponseLine, userResponseLine } from './ndjson.js';
import { buildOpenAiAnswer, handleOpenAiChat, type OpenAiAnswer } from './openai-endpoint.js';

export interface BenchOptions {
  /** Answer tokens per turn (default 20). */
  tokens: number;
  /** Delay between two tokens in ms; 0 writes the whole answer at once (default 0). */
  delayMs: number;
}

/** A turn's bytes, pre-serialised once per configuration: head (+ first token), one chunk per later token, tail. */
export interface Playback {
  head: Buffer;
  tokens: Buffer[];
  tail: Buffer;
  /** head + tokens + tail, for delayMs = 0. */
  whole: Buffer;
}

const RATE_LIMITS = { windowSizeSeconds: 7200, remainingQueries: 1_000_000_000, totalQueries: 1_000_000_000, lowEffortRateLimits: null, highEffortRateLimits: null };

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do'];

/** The fixed answer: `Lorem ipsum dolor …` cut into `n` tokens whose concatenation is the text. */
export function benchTokens(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'Lorem' : ` ${WORDS[i % WORDS.length]}`));
}

export function playback(head: string, tokens: string[], tail: string): Playback {
  const b = { head: Buffer.from(head), tokens: tokens.map((t) => Buffer.from(t)), tail: Buffer.from(tail) };
  return { ...b, whole: Buffer.concat([b.head, ...b.tokens, b.tail]) };
}

function ndjsonPlayback(tokens: string[]): Playback {
  const rid = 'resp_bench';
  const lines = tokens.map((t) => answerTokenLine(t, rid) + '\n');
  const head = conversationLine('conv_bench') + '\n' + userResponseLine('up_bench', 'bench') + '\n' + (lines.shift() ?? '');
  const tail = modelResponseLine({ responseId: rid, parentResponseId: 'up_bench', message: tokens.join('') }) + '\n' + finalMetadataLine() + '\n';
  return playback(head, lines, tail);
}

/** One mgw turn, pre-serialised: the frames after session.created, then the answer as head, one frame group per later token, tail. */
interface MgwPlayback {
  session: string[];
  head: string[];
  tokens: string[][];
  tail: string[];
}

const MGW_PATH = '/ws/mgw/';

/** The same turn as gateway events (mgw-convert.ts turns the REST lines into them), session id fixed. */
function mgwPlayback(tokens: string[]): MgwPlayback {
  const rid = 'resp_bench';
  const st = newConvertState(rid);
  const fix = (frames: string[]) => frames.map((f) => f.replace('{"session_id":""', '{"session_id":"conv_bench"'));
  const ev = (event: Record<string, unknown>) => JSON.stringify({ session_id: '', event });
  const conv = (line: string) => restLineToMgw(line, st, 'CHANNEL_ASSISTANT_THINKING');
  // session.created is made per session: it names the client's event id.
  const session = fix([ev({ type: 'conversation.attached', conversation: { id: 'conv_bench' } })]);
  const head = fix([
    ev({ type: 'response.created', response: { id: rid, status: 'in_progress', output_modalities: ['text'], x_grok: { model: 'bench' } } }),
    chunkEvent({ ui_layout: { reasoning_ui_layout: 'UNIFIED' } }, st),
    ...conv(conversationLine('conv_bench')),
    ...conv(userResponseLine('up_bench', 'bench')),
  ]);
  const tok = tokens.map((t) => fix(conv(answerTokenLine(t, rid))));
  head.push(...(tok.shift() ?? []));
  const tail = fix([
    ...conv(modelResponseLine({ responseId: rid, parentResponseId: 'up_bench', message: tokens.join('') })),
    ...conv(finalMetadataLine()),
    ev({ type: 'response.done', response: { id: rid, status: 'completed', output_modalities: ['text'] } }),
  ]);
  return { session, head, tokens: tok, tail };
}

export class BenchMode {
  /** Streams currently being written (both endpoints). */
  open = 0;
  served = 0;
  private opts: BenchOptions = { tokens: 20, delayMs: 0 };
  private grok!: Playback;
  private openai!: OpenAiAnswer;
  private mgw!: MgwPlayback;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(opts: Partial<BenchOptions> = {}) {
    this.configure(opts);
  }

  configure(patch: Partial<BenchOptions>): BenchOptions {
    const next = { ...this.opts, ...patch };
    if (!Number.isInteger(next.tokens) || next.tokens < 1 || next.tokens > 100_000) throw new Error('tokens must be an integer in 1..100000');
    if (!Number.isFinite(next.delayMs) || next.delayMs < 0) throw new Error('delayMs must be a number >= 0');
    this.opts = next;
    const tokens = benchTokens(next.tokens);
    this.grok = ndjsonPlayback(tokens);
    this.openai = buildOpenAiAnswer(tokens);
    this.mgw = mgwPlayback(tokens);
    return next;
  }

  /** Handles the request when it belongs to bench mode; false lets the normal fake serve it. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path === '/rest/app-chat/conversations/new') {
      req.resume();
      req.once('end', () => this.play(res, this.grok, { 'content-type': 'application/json' }));
      return true;
    }
    if (path === '/v1/chat/completions' || path === '/chat/completions') {
      handleOpenAiChat(req, res, this.openai, (pb, headers) => this.play(res, pb, headers), this.opts.delayMs);
      return true;
    }
    if (path === '/api/auth/session') {
      // The mgw transport asks once per account for the user id it puts in the gateway URL.
      req.resume();
      const token = parseCookies(req.headers.cookie).sso;
      req.once('end', () => sendJson(res, 200, token ? { status: 'authenticated', session: { userId: userUuid(token), email: 'bench@grok.invalid' } } : { status: 'unauthenticated' }));
      return true;
    }
    if (path === '/v1/models' || path === '/models') {
      req.resume();
      req.once('end', () => sendJson(res, 200, { object: 'list', data: [{ id: 'grok-3', object: 'model', created: 0, owned_by: 'xai' }] }));
      return true;
    }
    if (path === '/rest/rate-limits') {
      // The proxy syncs quotas: a benchmark account never runs out (real ones allow 30–400 a window).
      req.resume();
      req.once('end', () => sendJson(res, 200, RATE_LIMITS));
      return true;
    }
    if (path === '/__bench/config') {
      this.control(req, res);
      return true;
    }
    if (path === '/__bench/state') {
      sendJson(res, 200, { open: this.open, served: this.served, ...this.opts });
      return true;
    }
    return false;
  }

  /**
   * An mgw gateway upgrade (bench mode takes every one): session.create is answered with
   * session.created + conversation.attached, response.create with the fixed answer, tokens
   * `delayMs` apart like the REST endpoint; no uid check, accounts or recording.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((req.url ?? '/').split('?', 1)[0] !== MGW_PATH) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.mgwSession(ws));
    return true;
  }

  private mgwSession(ws: WebSocket): void {
    const pb = this.mgw;
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = String(data);
      if (text.includes('"session.create"')) {
        // The client matches session.created to its session.create by event id.
        let id: unknown;
        try {
          id = (JSON.parse(text) as { event?: { event_id?: unknown } }).event?.event_id;
        } catch {
          return;
        }
        ws.send(JSON.stringify({ session_id: 'conv_bench', event: { type: 'session.created', client_event_id: id, session: { id: 'conv_bench' } } }));
        for (const f of pb.session) ws.send(f);
      } else if (text.includes('"response.create"')) this.mgwTurn(ws, pb);
    });
  }

  private mgwTurn(ws: WebSocket, pb: MgwPlayback): void {
    this.served++;
    const delay = this.opts.delayMs;
    const sendAll = (frames: string[]) => {
      for (const f of frames) ws.send(f);
    };
    if (delay === 0 || pb.tokens.length === 0) {
      sendAll(pb.head);
      for (const t of pb.tokens) sendAll(t);
      sendAll(pb.tail);
      return;
    }
    this.open++;
    let i = 0;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.open--;
    };
    ws.once('close', end);
    const tick = () => {
      if (ws.readyState !== ws.OPEN) return end();
      if (i < pb.tokens.length) {
        sendAll(pb.tokens[i++]!);
        timer = setTimeout(tick, delay);
      } else {
        sendAll(pb.tail);
        end();
      }
    };
    sendAll(pb.head);
    timer = setTimeout(tick, delay);
  }

  /** Writes a turn: all at once, or head then one token per delayMs with a per-stream timer. */
  play(res: ServerResponse, pb: Playback, headers: Record<string, string>): void {
    this.served++;
    res.writeHead(200, headers);
    const delay = this.opts.delayMs;
    if (delay === 0 || pb.tokens.length === 0) {
      res.end(pb.whole);
      return;
    }
    this.open++;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    res.once('close', () => {
      clearTimeout(timer);
      this.open--;
    });
    const tick = () => {
      // Http2ServerResponse has no `destroyed`; its stream does.
      if (res.destroyed || (res as { stream?: { destroyed: boolean } }).stream?.destroyed) return;
      if (i < pb.tokens.length) {
        res.write(pb.tokens[i++]);
        timer = setTimeout(tick, delay);
      } else {
        res.end(pb.tail);
      }
    };
    res.write(pb.head);
    timer = setTimeout(tick, delay);
  }

  private control(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') return sendJson(res, 200, this.opts);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        sendJson(res, 200, this.configure(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Partial<BenchOptions>));
      } catch (err) {
        sendJson(res, 400, { error: (err as Error).message });
      }
    });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
