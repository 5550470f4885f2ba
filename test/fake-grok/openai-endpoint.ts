/**
 * An OpenAI-shaped `POST /v1/chat/completions` for the benchmark's "direct" floor: it answers the
 * bench-mode text as a `chat.completion` JSON body or as `chat.completion.chunk` SSE (role chunk
 * with the first token, one chunk per later token, finish chunk, `[DONE]`), with the same
 * inter-token delay as the grok.com endpoint. Bodies are serialised once per configuration, so
 * this floor measures the transport, not our own JSON work.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Playback } from './bench-mode.js';
import { playback } from './bench-mode.js';

export interface OpenAiAnswer {
  json: Buffer;
  sse: Playback;
}

const MODEL = 'grok-3';
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };

export function buildOpenAiAnswer(tokens: string[]): OpenAiAnswer {
  const id = 'chatcmpl-bench';
  const created = Math.floor(Date.now() / 1000);
  const text = tokens.join('');
  const json = Buffer.from(
    JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: tokens.length, total_tokens: 10 + tokens.length },
    }),
  );
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const [first = '', ...rest] = tokens;
  const head = chunk({ role: 'assistant', content: '' }) + chunk({ content: first });
  const tail = chunk({}, 'stop') + 'data: [DONE]\n\n';
  return { json, sse: playback(head, rest.map((t) => chunk({ content: t })), tail) };
}

/** Reads the body, then answers JSON or SSE depending on `stream`. Bad JSON gets a 400 like OpenAI's. */
export function handleOpenAiChat(
  req: IncomingMessage,
  res: ServerResponse,
  answer: OpenAiAnswer,
  play: (pb: Playback, headers: Record<string, string>) => void,
  delayMs: number,
): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => {
    let body: { stream?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: unknown };
    } catch {
      res.writeHead(400, JSON_HEADERS);
      res.end(JSON.stringify({ error: { message: 'invalid JSON body', type: 'invalid_request_error', param: null, code: null } }));
      return;
    }
    if (body?.stream === true) {
      play(answer.sse, SSE_HEADERS);
    } else {
      // Like a real upstream, the whole body is ready only once the last token was generated.
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(answer.json.length) });
        res.end(answer.json);
      };
      if (delayMs > 0) setTimeout(send, delayMs * answer.sse.tokens.length);
      else send();
    }
  });
}
