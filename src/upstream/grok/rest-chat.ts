import type { Readable } from 'node:stream';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import type { UpstreamError } from '../../errors.js';
import { readBounded, type UpstreamTimeouts } from '../http-client.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { uploadAttachments } from './attachments.js';
import type { GrokClient } from './client.js';
import { flattenMessages } from './flatten.js';
import { parseFrameBatches } from './frames.js';
import { buildChatPayload } from './payload.js';
import type { ResponseMapper } from './response-mapper.js';
import { PrimedTurn, type TurnSource } from './turn-core.js';
import { turnQuality } from './turn-quality.js';
import { uploadFile } from './upload.js';

/**
 * Text chat over grok.com's REST endpoint (`POST /rest/app-chat/conversations/new`, NDJSON
 * answer; docs/upstream-grok.md §2.1, §4). `openChat` is primed by turn-core.ts (PrimedTurn): it
 * resolves only once the first text or reasoning arrived (or the turn ended), so every failure up
 * to that point — HTTP status, an error frame inside the 200 body, a timeout — rejects with a
 * classified error the pool can retry on another account. This file says only how the frames
 * arrive (RestSource).
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
      // Attachments go up first, under the same account (upload v1, docs/upstream-grok.md §2.3); their ids ride in the payload.
      const fileAttachments = await uploadAttachments(intent, (f) => uploadFile(client, ctx.lease.token, f, ctx.signal));
      const payload = buildChatPayload(config.grok, flattenMessages(intent.messages, intent), ctx.lease.mode, { fileAttachments });
      const headers = client.headers(ctx.lease.token);
      const source = new RestSource(client, timeouts, url, headers, JSON.stringify(payload), ctx.lease.token);
      return new PrimedTurn(source, timeouts, ctx.signal, turnQuality(intent, config, ctx.lease.mode)).open();
    },
  };
}

/**
 * How a REST turn's frames arrive: one streamed request (a connection of its own), its NDJSON
 * body parsed into frame batches, one batch per network read. The state machine is turn-core.ts.
 */
class RestSource implements TurnSource<unknown> {
  private readonly controller = new AbortController();
  private body: Readable | undefined;
  private frames: AsyncIterator<unknown[]> | undefined;

  constructor(
    private readonly client: GrokClient,
    private readonly t: UpstreamTimeouts,
    private readonly url: string,
    private readonly headers: Record<string, string>,
    private readonly payload: string,
    private readonly account: string,
  ) {}

  async start(): Promise<void> {
    const res = await this.client.request(this.url, {
      method: 'POST',
      headers: this.headers,
      body: this.payload,
      // A connection of its own: a client that leaves closes it, and grok.com stops generating.
      stream: true,
      account: this.account,
      signal: this.controller.signal,
      headersTimeout: this.t.firstByteMs,
      // Silence is the watchdog's to judge: it counts only while the turn waits on grok.com, where
      // a transport-level timer would also count while a slow consumer holds the stream.
      bodyTimeout: 0,
    });
    this.body = res.body;
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw this.client.classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    }
    this.frames = parseFrameBatches(res.body)[Symbol.asyncIterator]();
  }

  async pull(): Promise<unknown[] | null> {
    const r = await this.frames!.next();
    return r.done ? null : r.value;
  }

  feed(frame: unknown, mapper: ResponseMapper, out: UpstreamEvent[]): boolean {
    return mapper.map(frame, out);
  }

  /**
   * The body ended. Without the closing frame (`modelResponse`, `finalMetadata` or `isSoftStop`)
   * the answer was cut off, however cleanly the connection closed.
   */
  endOfStream(mapper: ResponseMapper, out: UpstreamEvent[]): void {
    mapper.finish(out);
    if (!mapper.sawFinal) {
      throw mapper.hasContent ? this.client.errors.incomplete('the stream ended without its final frame') : this.client.errors.badResponse('the answer stream ended before any answer');
    }
  }

  cut(reason: UpstreamError, cause?: unknown): void {
    this.controller.abort(cause ?? reason);
  }

  /**
   * Destroyed (cutting the turn's connection at once) on any error, client abort or early
   * `return()`; after a clean end that left bytes unread, read to its end (bounded in time) so the
   * turn's connection stays open for the account's next turn instead of paying a new TLS handshake.
   */
  release(clean: boolean): void {
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
