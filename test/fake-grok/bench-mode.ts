/**
 * Benchmark mode of the fake grok.com: every chat turn answers the same fixed text of N tokens with
 * a fixed inter-token delay (first token at once, no jitter), without accounts, quotas or the
 * request recorder, so the fake costs as little as possible and never grows in memory. The same
 * answer is served OpenAI-shaped at /v1/chat/completions (openai-endpoint.ts) as the "direct"
 * floor the proxy is compared with. Control: GET/PUT /__bench/config {tokens, delayMs},
 * GET /__bench/state {open, served}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

export class BenchMode {
  /** Streams currently being written (both endpoints). */
  open = 0;
  served = 0;
  private opts: BenchOptions = { tokens: 20, delayMs: 0 };
  private grok!: Playback;
  private openai!: OpenAiAnswer;

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
      if (res.destroyed) return;
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
