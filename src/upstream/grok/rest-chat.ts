import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import type { Config } from '../../config/schema.js';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import type { UpstreamError } from '../../errors.js';
import { decodeBody, readBounded, upstreamTimeouts, type UpstreamTimeouts } from '../http-client.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { uploadAttachments } from './attachments.js';
import { classifyHttp, upstreamErrors } from './classify.js';
import { flattenMessages } from './flatten.js';
import { parseFrameBatches } from './frames.js';
import { buildGrokHeaders } from './headers.js';
import { buildChatPayload } from './payload.js';
import { ResponseMapper } from './response-mapper.js';
import { uploadFile } from './upload.js';
import { turnFailure, turnTimeout, Watchdog } from './watchdog.js';

/**
 * Text chat over grok.com's REST endpoint (`POST /rest/app-chat/conversations/new`, NDJSON
 * answer; spec/upstream-chat.md §2.3, §4). `openChat` is primed: it resolves only once the first
 * text or reasoning arrived (or the turn ended), so every failure up to that point — HTTP status,
 * an error frame inside the 200 body, a timeout — rejects with a classified error the pool can
 * retry on another account. Ids (`meta`) seen while priming are held back and delivered first.
 */
export function createRestChatUpstream(configOrGetter: Config | (() => Config), dispatcher: Dispatcher): ChatUpstream {
  // A getter follows runtime settings changes; a plain config (tests) stays fixed.
  const current = typeof configOrGetter === 'function' ? configOrGetter : () => configOrGetter;
  return {
    async openChat(intent: ChatIntent, ctx: ChatCallContext): Promise<AsyncIterable<UpstreamEvent>> {
      const config = current();
      // Keep any path prefix of the base URL (a reverse proxy in front of grok.com, a test server).
      const url = `${config.grok.base_url.replace(/\/+$/, '')}/rest/app-chat/conversations/new`;
      const timeouts = upstreamTimeouts(config);
      // Attachments go up first, under the same account (upload v1, §2.6); their ids ride in the payload.
      const fileAttachments = await uploadAttachments(intent, (f) => uploadFile(config, dispatcher, ctx.lease.token, f, ctx.signal));
      const payload = buildChatPayload(config.grok, flattenMessages(intent.messages, intent), ctx.lease.mode, { fileAttachments });
      const headers = buildGrokHeaders(config.grok, ctx.lease.token);
      return new RestTurn(dispatcher, timeouts, ctx.signal).open(url, headers, JSON.stringify(payload));
    },
  };
}

/** Frames read after the end marker while letting the socket go back to the pool. */
const DRAIN_MS = 1000;

/**
 * One turn: owns the request's AbortController, the silence watchdog and the response body, and
 * guarantees the body is released exactly once — destroyed (closing the socket at once) on any
 * error, client abort or early `return()`; drained briefly after a clean end so keep-alive holds.
 */
class RestTurn {
  private readonly controller = new AbortController();
  private readonly watchdog: Watchdog;
  private readonly mapper = new ResponseMapper();
  private timedOut = false;
  private primed = false;
  private released = false;
  private body: Readable | undefined;
  private stream: Readable | undefined;
  private frames: AsyncIterator<unknown[]> | undefined;
  /** The frames of the last network read, consumed from `at`. */
  private batch: unknown[] = [];
  private at = 0;
  private readonly onClientAbort = () => this.controller.abort(this.signal.reason);

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly t: UpstreamTimeouts,
    private readonly signal: AbortSignal,
  ) {
    this.watchdog = new Watchdog(t.firstByteMs, () => {
      this.timedOut = true;
      this.controller.abort(this.timeoutError());
    });
  }

  async open(url: string, headers: Record<string, string>, body: string): Promise<AsyncIterable<UpstreamEvent>> {
    try {
      if (this.signal.aborted) throw upstreamErrors.aborted();
      this.signal.addEventListener('abort', this.onClientAbort, { once: true });
      this.watchdog.arm();
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.dispatcher,
        signal: this.controller.signal,
        headersTimeout: this.t.firstByteMs,
        bodyTimeout: this.t.idleMs,
      });
      this.body = res.body;
      const encoding = res.headers['content-encoding'];
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw classifyHttp(res.statusCode, await errorText(res.body, encoding), res.headers);
      }
      this.stream = decodeBody(res.body, encoding);
      this.frames = parseFrameBatches(this.stream)[Symbol.asyncIterator]();
      const first: UpstreamEvent[] = [];
      const ended = await this.prime(first);
      this.primed = true;
      this.watchdog.disarm();
      return this.events(first, ended);
    } catch (e) {
      this.release(false);
      throw this.classify(e);
    }
  }

  /** Reads until the first text/reasoning (→ false) or the end of the turn (→ true). */
  private async prime(out: UpstreamEvent[]): Promise<boolean> {
    for (;;) {
      if (this.at === this.batch.length && !(await this.pull())) {
        this.mapper.finish(out);
        if (!this.mapper.hasContent) throw upstreamErrors.badResponse('the answer stream ended before any answer');
        return true;
      }
      // Frames after the first content stay in `batch` for `events`.
      if (this.mapper.map(this.batch[this.at++], out)) {
        this.mapper.finish(out);
        return true;
      }
      if (this.mapper.hasContent) return false;
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
        if (this.at === this.batch.length && !(await this.pull())) {
          // EOF after content is a normal end: some generations send no end marker (§4.4).
          this.mapper.finish(out);
          ended = true;
          continue;
        }
        // A whole network read at once: its events are then yielded without further awaits.
        while (this.at < this.batch.length) {
          if (this.mapper.map(this.batch[this.at++], out)) {
            this.mapper.finish(out);
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
    if (this.primed) this.watchdog.arm(this.t.idleMs);
    try {
      const r = await this.frames!.next();
      if (r.done) return false;
      this.batch = r.value;
      this.at = 0;
      return true;
    } finally {
      if (this.primed) this.watchdog.disarm();
    }
  }

  private classify(e: unknown): UpstreamError {
    return turnFailure(e, { signal: this.signal, timedOut: this.timedOut, primed: this.primed, t: this.t });
  }

  private timeoutError(): UpstreamError {
    return turnTimeout(this.primed, this.t);
  }

  /** Releases the body once: drain after a clean end that left bytes unread, destroy otherwise. */
  private release(clean: boolean): void {
    if (this.released) return;
    this.released = true;
    this.watchdog.stop();
    this.signal.removeEventListener('abort', this.onClientAbort);
    const { body, stream, frames } = this;
    if (!body) return;
    if (clean && frames && !body.readableEnded && !body.destroyed) {
      // Ended by a marker with the response still open: read what is left (bounded in time) so
      // undici can reuse the socket instead of paying a new TLS handshake for the next turn.
      const deadline = setTimeout(() => stream?.destroy(), DRAIN_MS);
      void (async () => {
        try {
          while (!(await frames.next()).done);
        } catch {
          // whatever arrives after the end does not matter
        } finally {
          clearTimeout(deadline);
          stream?.destroy();
        }
      })();
      return;
    }
    stream?.destroy();
    body.destroy();
  }
}

/** A bounded, decoded prefix of an error body for the classifier ('' if it cannot be decoded). */
async function errorText(body: Readable, encoding: string | string[] | undefined): Promise<string> {
  let stream: Readable;
  try {
    stream = decodeBody(body, encoding);
  } catch {
    return '';
  }
  return readBounded(stream);
}
