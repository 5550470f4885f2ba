import type { Readable } from 'node:stream';
import type { GrokTransport } from './transport/index.js';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import type { UpstreamError } from '../../errors.js';
import { readBounded, type UpstreamTimeouts } from '../http-client.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { uploadAttachments } from './attachments.js';
import { classifyHttp, upstreamErrors } from './classify.js';
import type { GrokClient } from './client.js';
import { flattenMessages } from './flatten.js';
import { parseFrameBatches } from './frames.js';
import { buildChatPayload } from './payload.js';
import { ResponseMapper } from './response-mapper.js';
import { checkEnded, readyToStream, turnQuality, type TurnQuality } from './turn-quality.js';
import { uploadFile } from './upload.js';
import { turnFailure, turnTimeout, Watchdog } from './watchdog.js';

/**
 * Text chat over grok.com's REST endpoint (`POST /rest/app-chat/conversations/new`, NDJSON
 * answer; spec/upstream-chat.md §2.3, §4). `openChat` is primed: it resolves only once the first
 * text or reasoning arrived (or the turn ended), so every failure up to that point — HTTP status,
 * an error frame inside the 200 body, a timeout — rejects with a classified error the pool can
 * retry on another account. Ids (`meta`) seen while priming are held back and delivered first.
 */
/** Frames read after the end marker while the turn's connection stays open for the next turn. */
const DRAIN_MS = 1000;

export function createRestChatUpstream(client: GrokClient): ChatUpstream {
  return {
    async openChat(intent: ChatIntent, ctx: ChatCallContext): Promise<AsyncIterable<UpstreamEvent>> {
      // Read once per turn: a settings change applies to the next turn.
      const config = client.config;
      const url = client.url('/rest/app-chat/conversations/new');
      const timeouts = client.timeouts;
      // Attachments go up first, under the same account (upload v1, §2.6); their ids ride in the payload.
      const fileAttachments = await uploadAttachments(intent, (f) => uploadFile(client, ctx.lease.token, f, ctx.signal));
      const payload = buildChatPayload(config.grok, flattenMessages(intent.messages, intent), ctx.lease.mode, { fileAttachments });
      const headers = client.headers(ctx.lease.token);
      return new RestTurn(client.transport, timeouts, ctx.signal, turnQuality(intent, config, ctx.lease.mode)).open(url, headers, JSON.stringify(payload), ctx.lease.token);
    },
  };
}

/**
 * One turn: owns the request's AbortController, the silence watchdog and the response body, and
 * guarantees the body is released exactly once — destroyed (closing the socket at once) on any
 * error, client abort, early `return()` or the end of the turn.
 */
class RestTurn {
  private readonly controller = new AbortController();
  private readonly watchdog: Watchdog;
  private readonly mapper = new ResponseMapper();
  private timedOut = false;
  private primed = false;
  private released = false;
  private body: Readable | undefined;
  private frames: AsyncIterator<unknown[]> | undefined;
  /** The frames of the last network read, consumed from `at`. */
  private batch: unknown[] = [];
  private at = 0;
  private readonly onClientAbort = () => this.controller.abort(this.signal.reason);

  constructor(
    private readonly http: GrokTransport,
    private readonly t: UpstreamTimeouts,
    private readonly signal: AbortSignal,
    private readonly quality: TurnQuality,
  ) {
    this.watchdog = new Watchdog(t.firstByteMs, () => {
      this.timedOut = true;
      this.controller.abort(this.timeoutError());
    });
  }

  async open(url: string, headers: Record<string, string>, body: string, account: string): Promise<AsyncIterable<UpstreamEvent>> {
    try {
      if (this.signal.aborted) throw upstreamErrors.aborted();
      this.signal.addEventListener('abort', this.onClientAbort, { once: true });
      this.watchdog.arm();
      const res = await this.http.request(url, {
        method: 'POST',
        headers,
        body,
        // A connection of its own: a client that leaves closes it, and grok.com stops generating.
        stream: true,
        account,
        signal: this.controller.signal,
        headersTimeout: this.t.firstByteMs,
        // Silence is the watchdog's to judge: it counts only while the turn waits on grok.com, where
        // a transport-level timer would also count while a slow consumer holds the stream.
        bodyTimeout: 0,
      });
      this.body = res.body;
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
      }
      this.frames = parseFrameBatches(res.body)[Symbol.asyncIterator]();
      const first: UpstreamEvent[] = [];
      const ended = await this.prime(first);
      this.primed = true;
      this.watchdog.disarm();
      return this.events(first, ended);
    } catch (e) {
      this.release();
      throw this.classify(e);
    }
  }

  /** Reads until what the client sees first (→ false) or the end of the turn (→ true); see turn-quality.ts. */
  private async prime(out: UpstreamEvent[]): Promise<boolean> {
    for (;;) {
      if (this.at === this.batch.length && !(await this.pull())) {
        this.endOfBody(out);
        return true;
      }
      // Frames after the first content stay in `batch` for `events`.
      if (this.mapper.map(this.batch[this.at++], out)) {
        this.mapper.finish(out);
        checkEnded(this.mapper, this.quality);
        return true;
      }
      if (readyToStream(this.mapper, this.quality)) return false;
    }
  }

  /**
   * The body ended. Without the closing frame (`modelResponse`, `finalMetadata` or `isSoftStop`)
   * the answer was cut off, however cleanly the connection closed.
   */
  private endOfBody(out: UpstreamEvent[]): void {
    this.mapper.finish(out);
    if (!this.mapper.sawFinal) {
      throw this.mapper.hasContent ? upstreamErrors.incomplete('the stream ended without its final frame') : upstreamErrors.badResponse('the answer stream ended before any answer');
    }
    checkEnded(this.mapper, this.quality);
  }

  private async *events(first: UpstreamEvent[], ended: boolean): AsyncGenerator<UpstreamEvent, void, undefined> {
    let clean = false;
    try {
      const out = first;
      for (;;) {
        for (let i = 0; i < out.length; i++) yield out[i]!;
        out.length = 0;
        if (ended) break;
        if (this.at === this.batch.length && !(await this.pull())) {
          this.endOfBody(out);
          ended = true;
          continue;
        }
        // A whole network read at once: its events are then yielded without further awaits.
        while (this.at < this.batch.length) {
          if (this.mapper.map(this.batch[this.at++], out)) {
            this.mapper.finish(out);
            checkEnded(this.mapper, this.quality);
            ended = true;
            break;
          }
        }
      }
      clean = true;
      yield { type: 'done' };
    } catch (e) {
      throw this.classify(e);
    } finally {
      this.release(clean);
    }
  }

  /**
   * Loads the frames of the next network read into `batch`; false at the end of the stream.
   * While priming, the first-byte clock started with the request keeps running (it bounds
   * request → first answer frame as a whole); afterwards the idle clock counts only while we
   * wait on grok.com, not while the consumer is busy.
   */
  private async pull(): Promise<boolean> {
    // Once content flows (hidden reasoning while priming included), silence is what counts.
    const flowing = this.primed || this.mapper.hasContent;
    if (flowing) this.watchdog.arm(this.t.idleMs);
    try {
      const r = await this.frames!.next();
      if (r.done) return false;
      this.batch = r.value;
      this.at = 0;
      return true;
    } finally {
      if (flowing) this.watchdog.disarm();
    }
  }

  private classify(e: unknown): UpstreamError {
    return turnFailure(e, { signal: this.signal, timedOut: this.timedOut, primed: this.primed, t: this.t });
  }

  private timeoutError(): UpstreamError {
    return turnTimeout(this.primed, this.t);
  }

  /**
   * Releases the body once: destroyed (cutting the turn's connection at once) on any error, client
   * abort or early `return()`; after a clean end that left bytes unread, read to its end (bounded
   * in time) so the turn's connection stays open for the account's next turn instead of paying a
   * new TLS handshake.
   */
  private release(clean = false): void {
    if (this.released) return;
    this.released = true;
    this.watchdog.stop();
    this.signal.removeEventListener('abort', this.onClientAbort);
    const { body, frames } = this;
    if (!body) return;
    if (!clean || !frames || body.readableEnded || body.destroyed) return void body.destroy();
    const deadline = setTimeout(() => body.destroy(), DRAIN_MS);
    void (async () => {
      try {
        while (!(await frames.next()).done);
      } catch {
        // whatever arrives after the end does not matter
      } finally {
        clearTimeout(deadline);
        body.destroy();
      }
    })();
  }
}
