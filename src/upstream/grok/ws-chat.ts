import { randomUUID } from 'node:crypto';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import type { UpstreamError } from '../../errors.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { uploadAttachments } from './attachments.js';
import type { GrokClient } from './client.js';
import { flattenMessages } from './flatten.js';
import { gatewayHeaders, gatewayUrl } from './mgw-connect.js';
import { heartbeat, itemCreate, newGatewayTurnState, responseCreate, sessionCreate, translateEvent } from './mgw-events.js';
import type { ResponseMapper } from './response-mapper.js';
import { SessionIdentity } from './session-identity.js';
import type { GrokSocket, GrokSocketOptions } from './transport/index.js';
import { PrimedTurn, type TurnSource } from './turn-core.js';
import { turnQuality } from './turn-quality.js';
import { uploadFileV2 } from './upload.js';

export { gatewayHeaders, gatewayUrl };

/**
 * Text chat over grok.com's mgw WebSocket gateway (docs/upstream-grok.md §3, the HEAD protocol):
 * user id from /api/auth/session, attachments through upload v2, then one socket per turn:
 * session.create → session.created + conversation.attached → conversation.item.create +
 * response.create → response.chunk … → response.done. Primed by turn-core.ts (PrimedTurn) like
 * the REST transport: `openChat` resolves after the first text/reasoning, so a refused upgrade
 * (401/403/429), an `error` event or a timeout before that rejects with a classified error the
 * pool retries elsewhere. This file says only how the events arrive (MgwSource).
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
      const options: GrokSocketOptions = { headers: gatewayHeaders(client, ctx.lease.token, uid), handshakeTimeoutMs: timeouts.connectMs, maxPayload: MAX_FRAME, account: ctx.lease.token };
      const first = (initId: string) => sessionCreate(initId, ctx.lease.mode, config.grok);
      const source = new MgwSource(client, gatewayUrl(client.baseUrl, uid), options, first, flattenMessages(intent.messages, intent), fileIds);
      return new PrimedTurn(source, timeouts, ctx.signal, turnQuality(intent, config, ctx.lease.mode)).open();
    },
  };
}

/** Largest gateway frame accepted (docs/upstream-grok.md §3.1). */
const MAX_FRAME = 16 * 1024 * 1024;
/** Application-level heartbeat while a turn is open (docs/upstream-grok.md §3.2). */
const HEARTBEAT_MS = 25_000;
/** Queued frames at which the socket is paused (the consumer is slower than grok.com), and resumed. */
const HIGH_WATER = 256;
const LOW_WATER = 32;

type Obj = Record<string, unknown>;

/**
 * How an mgw turn's events arrive: one socket per turn, the session handshake, the user's message
 * once the conversation is attached, then gateway events queued (with flow control) until the
 * core pulls them, one at a time. Released exactly once: closed cleanly after response.done,
 * terminated otherwise. The state machine is turn-core.ts.
 */
class MgwSource implements TurnSource<Obj> {
  readonly initId = `evt_init_${randomUUID()}`;
  private ws: GrokSocket | undefined;
  private readonly queue: Obj[] = [];
  private paused = false;
  private closedCode: number | null = null;
  private failure: UpstreamError | undefined;
  /** Set by `cut`: a client abort or a timeout wins over frames still queued. */
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly gateway = newGatewayTurnState();
  private sessionId = '';
  private created = false;
  private attached = false;
  private sent = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: GrokClient,
    private readonly url: string,
    private readonly options: GrokSocketOptions,
    private readonly first: (initId: string) => string,
    private readonly message: string,
    private readonly fileIds: readonly string[],
  ) {}

  async start(): Promise<void> {
    const first = this.first(this.initId);
    const ws = (this.ws = this.client.openWebSocket(this.url, this.options, {
      onOpen: () => {
        ws.send(first);
        this.heartbeat = setInterval(() => ws.isOpen && ws.send(heartbeat()), HEARTBEAT_MS).unref();
      },
      onMessage: (text) => this.onMessage(text),
      onError: (e) => this.fail(this.client.classifyNetwork(e)),
      onClose: (code) => {
        this.closedCode = code;
        this.notify();
      },
      onRefused: (status, headers, body) => this.refused(status, headers, body),
    }));
  }

  /** The next queued event; null once the socket closed with nothing left. */
  async pull(): Promise<Obj[] | null> {
    for (;;) {
      if (this.stopped) throw this.failure;
      const ev = this.queue.shift();
      if (ev) {
        if (this.paused && this.queue.length <= LOW_WATER) {
          this.paused = false;
          this.ws?.resume();
        }
        return [ev];
      }
      if (this.failure) throw this.failure;
      if (this.closedCode !== null) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** One gateway event, translated into the REST frames the mapper reads; true at response.done. */
  feed(ev: Obj, mapper: ResponseMapper, out: UpstreamEvent[]): boolean {
    const t = translateEvent(ev, this.gateway);
    for (const f of t.frames) mapper.map(f, out);
    return t.end;
  }

  /** The socket closed before response.done: whatever failed first, a lost connection, or a cut answer. */
  endOfStream(mapper: ResponseMapper): void {
    if (this.failure) throw this.failure;
    if (this.closedCode === 1006) throw this.client.classifyNetwork(Object.assign(new Error('gateway connection lost'), { code: 'ECONNRESET' }));
    const what = `the gateway closed the connection (code ${this.closedCode}) before response.done`;
    throw mapper.hasContent ? this.client.errors.incomplete(what) : this.client.errors.badResponse(what);
  }

  cut(reason: UpstreamError): void {
    this.stopped = true;
    this.fail(reason);
    this.ws?.terminate();
  }

  release(clean: boolean): void {
    clearInterval(this.heartbeat);
    const ws = this.ws;
    if (!ws) return;
    // close() cuts a peer that does not answer the close frame after a second.
    if (clean && ws.isOpen) ws.close(1000);
    else ws.terminate();
  }

  private onMessage(text: string): void {
    let frame: Obj;
    try {
      frame = JSON.parse(text) as Obj;
    } catch {
      return; // non-JSON frames carry nothing for us (docs/upstream-grok.md §3.3)
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

  /** The user's message goes out once the session exists and the conversation is attached (docs/upstream-grok.md §3.2). */
  private maybeSend(): void {
    if (this.sent || !this.created || !this.attached || !this.ws?.isOpen) return;
    this.sent = true;
    this.ws.send(itemCreate(this.sessionId, this.message, this.fileIds));
    this.ws.send(responseCreate(this.sessionId));
  }

  /** The upgrade was refused: classify its status and body like a REST answer (docs/upstream-grok.md §3.1). */
  private refused(status: number, headers: Record<string, string | string[]>, body: string): void {
    this.fail(status >= 400 ? this.client.classifyHttp(status, body, headers) : this.client.errors.badResponse(`the gateway answered HTTP ${status} instead of a WebSocket upgrade`, status));
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
}
