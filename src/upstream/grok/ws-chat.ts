import { randomUUID } from 'node:crypto';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import type { UpstreamError } from '../../errors.js';
import type { UpstreamTimeouts } from '../http-client.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { uploadAttachments } from './attachments.js';
import { classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import type { GrokClient } from './client.js';
import { flattenMessages } from './flatten.js';
import { gatewayHeaders, gatewayUrl } from './mgw-connect.js';
import { heartbeat, itemCreate, newGatewayTurnState, responseCreate, sessionCreate, translateEvent } from './mgw-events.js';
import { ResponseMapper } from './response-mapper.js';
import { SessionIdentity } from './session-identity.js';
import { checkEnded, readyToStream, turnQuality, type TurnQuality } from './turn-quality.js';
import { uploadFileV2 } from './upload.js';

export { gatewayHeaders, gatewayUrl };
import { turnFailure, turnTimeout, Watchdog } from './watchdog.js';
import type { GrokSocket, GrokSocketOptions, GrokTransport } from './transport/index.js';

/**
 * Text chat over grok.com's mgw WebSocket gateway (spec/upstream-chat.md §3, the HEAD protocol):
 * user id from /api/auth/session, attachments through upload v2, then one socket per turn:
 * session.create → session.created + conversation.attached → conversation.item.create +
 * response.create → response.chunk … → response.done. Primed like the REST transport: `openChat`
 * resolves after the first text/reasoning, so a refused upgrade (401/403/429), an `error` event or
 * a timeout before that rejects with a classified error the pool retries elsewhere.
 */
export function createWsChatUpstream(client: GrokClient): ChatUpstream {
  const identity = new SessionIdentity(client);
  return {
    async openChat(intent: ChatIntent, ctx: ChatCallContext): Promise<AsyncIterable<UpstreamEvent>> {
      // Read once per turn: a settings change (base URL, user agent, cf_clearance, timeouts) applies to the next turn.
      const config = client.config;
      const timeouts = client.timeouts;
      const [uid, fileIds] = await Promise.all([
        identity.userId(ctx.lease, ctx.signal),
        uploadAttachments(intent, (f) => uploadFileV2(client, ctx.lease.token, f, ctx.signal)),
      ]);
      const turn = new MgwTurn(client.transport, timeouts, ctx.signal, turnQuality(intent, config, ctx.lease.mode));
      const first = sessionCreate(turn.initId, ctx.lease.mode, config.grok);
      const options: GrokSocketOptions = { headers: gatewayHeaders(client, ctx.lease.token, uid), handshakeTimeoutMs: timeouts.connectMs, maxPayload: MAX_FRAME, account: ctx.lease.token };
      return turn.open(gatewayUrl(client.baseUrl, uid), options, first, flattenMessages(intent.messages, intent), fileIds);
    },
  };
}

/** Largest gateway frame accepted (§3.1). */
const MAX_FRAME = 16 * 1024 * 1024;
/** Application-level heartbeat while a turn is open (§3.2). */
const HEARTBEAT_MS = 25_000;
/** Queued frames at which the socket is paused (the consumer is slower than grok.com), and resumed. */
const HIGH_WATER = 256;
const LOW_WATER = 32;

type Obj = Record<string, unknown>;

/** One turn on one socket. Releases the socket exactly once: closed cleanly after response.done, terminated otherwise. */
class MgwTurn {
  readonly initId = `evt_init_${randomUUID()}`;
  private ws: GrokSocket | undefined;
  private readonly queue: Obj[] = [];
  private paused = false;
  private closedCode: number | null = null;
  private failure: UpstreamError | undefined;
  private wake: (() => void) | undefined;
  private readonly mapper = new ResponseMapper();
  private readonly gateway = newGatewayTurnState();
  private readonly watchdog: Watchdog;
  private timedOut = false;
  private primed = false;
  private released = false;
  private sessionId = '';
  private created = false;
  private attached = false;
  private sent = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private message = '';
  private fileIds: readonly string[] = [];
  private readonly onClientAbort = () => {
    this.fail(upstreamErrors.aborted());
    this.ws?.terminate();
  };

  constructor(
    private readonly http: GrokTransport,
    private readonly t: UpstreamTimeouts,
    private readonly signal: AbortSignal,
    private readonly quality: TurnQuality,
  ) {
    this.watchdog = new Watchdog(t.firstByteMs, () => {
      this.timedOut = true;
      this.fail(this.timeoutError());
      this.ws?.terminate();
    });
  }

  async open(url: string, options: GrokSocketOptions, first: string, message: string, fileIds: readonly string[]): Promise<AsyncIterable<UpstreamEvent>> {
    this.message = message;
    this.fileIds = fileIds;
    try {
      if (this.signal.aborted) throw upstreamErrors.aborted();
      this.signal.addEventListener('abort', this.onClientAbort, { once: true });
      this.watchdog.arm();
      const ws = (this.ws = this.http.openWebSocket(url, options, {
        onOpen: () => {
          ws.send(first);
          this.heartbeat = setInterval(() => ws.isOpen && ws.send(heartbeat()), HEARTBEAT_MS).unref();
        },
        onMessage: (text) => this.onMessage(text),
        onError: (e) => this.fail(classifyNetwork(e)),
        onClose: (code) => {
          this.closedCode = code;
          this.notify();
        },
        onRefused: (status, headers, body) => this.refused(status, headers, body),
      }));
      const out: UpstreamEvent[] = [];
      const ended = await this.prime(out);
      this.primed = true;
      this.watchdog.disarm();
      return this.events(out, ended);
    } catch (e) {
      this.release(false);
      throw this.classify(e);
    }
  }

  /** Reads until what the client sees first (→ false) or the end of the turn (→ true); see turn-quality.ts. */
  private async prime(out: UpstreamEvent[]): Promise<boolean> {
    for (;;) {
      const ev = await this.next();
      if (!ev) throw this.closedError();
      if (this.map(ev, out)) return true;
      if (readyToStream(this.mapper, this.quality)) return false;
    }
  }

  private async *events(first: UpstreamEvent[], ended: boolean): AsyncGenerator<UpstreamEvent, void, undefined> {
    let clean = false;
    try {
      const out = first;
      for (;;) {
        for (let i = 0; i < out.length; i++) yield out[i]!;
        out.length = 0;
        if (ended) break;
        const ev = await this.next();
        if (!ev) throw this.closedError();
        ended = this.map(ev, out);
      }
      clean = true;
      yield { type: 'done' };
    } catch (e) {
      throw this.classify(e);
    } finally {
      this.release(clean);
    }
  }

  /** Feeds one gateway event to the mapper; true when it ended the turn (checked: see turn-quality.ts). */
  private map(ev: Obj, out: UpstreamEvent[]): boolean {
    const t = translateEvent(ev, this.gateway);
    for (const f of t.frames) this.mapper.map(f, out);
    if (t.end) {
      this.mapper.finish(out);
      checkEnded(this.mapper, this.quality);
    }
    return t.end;
  }

  /** The next queued event; null once the socket closed with nothing left. Idle clock runs only while waiting. */
  private async next(): Promise<Obj | null> {
    // Once content flows (hidden reasoning while priming included), silence is what counts.
    const flowing = this.primed || this.mapper.hasContent;
    if (flowing) this.watchdog.arm(this.t.idleMs);
    try {
      for (;;) {
        // A client abort or a timeout wins over frames still queued.
        if (this.signal.aborted || this.timedOut) throw this.failure;
        const ev = this.queue.shift();
        if (ev) {
          if (this.paused && this.queue.length <= LOW_WATER) {
            this.paused = false;
            this.ws?.resume();
          }
          return ev;
        }
        if (this.failure) throw this.failure;
        if (this.closedCode !== null) return null;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (flowing) this.watchdog.disarm();
    }
  }

  private onMessage(text: string): void {
    let frame: Obj;
    try {
      frame = JSON.parse(text) as Obj;
    } catch {
      return; // non-JSON frames carry nothing for us (§3.3)
    }
    const event = frame && typeof frame.event === 'object' && frame.event ? (frame.event as Obj) : undefined;
    if (!event) return;
    if (event.type === 'session.created') {
      if (event.client_event_id !== this.initId) return;
      this.created = true;
      if (typeof frame.session_id === 'string') this.sessionId = frame.session_id;
      return this.maybeSend();
    }
    if (event.type === 'conversation.attached') {
      this.attached = true;
      const id = (event.conversation as Obj | undefined)?.id;
      if (!this.sessionId && typeof id === 'string') this.sessionId = id;
      this.maybeSend();
    }
    if (event.type === 'ping' || event.type === 'pong') return;
    this.queue.push(event);
    if (!this.paused && this.queue.length >= HIGH_WATER) {
      this.paused = true;
      this.ws?.pause();
    }
    this.notify();
  }

  /** The user's message goes out once the session exists and the conversation is attached (§3.2). */
  private maybeSend(): void {
    if (this.sent || !this.created || !this.attached || !this.ws?.isOpen) return;
    this.sent = true;
    this.ws.send(itemCreate(this.sessionId, this.message, this.fileIds));
    this.ws.send(responseCreate(this.sessionId));
  }

  /** The upgrade was refused: classify its status and body like a REST answer (§3.1). */
  private refused(status: number, headers: Record<string, string | string[]>, body: string): void {
    this.fail(status >= 400 ? classifyHttp(status, body, headers) : upstreamErrors.badResponse(`the gateway answered HTTP ${status} instead of a WebSocket upgrade`, status));
    this.closedCode ??= 1006;
    this.notify();
  }

  /** Keeps the first failure (later ones are consequences) and wakes the reader. */
  private fail(e: UpstreamError): void {
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private closedError(): UpstreamError {
    if (this.failure) return this.failure;
    if (this.closedCode === 1006) return classifyNetwork(Object.assign(new Error('gateway connection lost'), { code: 'ECONNRESET' }));
    const what = `the gateway closed the connection (code ${this.closedCode}) before response.done`;
    return this.mapper.hasContent ? upstreamErrors.incomplete(what) : upstreamErrors.badResponse(what);
  }

  private classify(e: unknown): UpstreamError {
    return turnFailure(e, { signal: this.signal, timedOut: this.timedOut, primed: this.primed, t: this.t });
  }

  private timeoutError(): UpstreamError {
    return turnTimeout(this.primed, this.t);
  }

  private release(clean: boolean): void {
    if (this.released) return;
    this.released = true;
    this.watchdog.stop();
    clearInterval(this.heartbeat);
    this.signal.removeEventListener('abort', this.onClientAbort);
    const ws = this.ws;
    if (!ws) return;
    // close() cuts a peer that does not answer the close frame after a second.
    if (clean && ws.isOpen) ws.close(1000);
    else ws.terminate();
  }
}
