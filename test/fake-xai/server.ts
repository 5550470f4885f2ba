import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the official xAI API (https://api.x.ai/v1), OpenAI-shaped as xAI documents it:
 * `POST /v1/chat/completions` (JSON or SSE chunks, `reasoning_content` deltas, whole tool calls in
 * one chunk, a final usage chunk with `reasoning_tokens` and `cached_tokens` when
 * `stream_options.include_usage`), `GET /v1/models`, `POST /v1/images/generations` (b64_json),
 * and its failures: 401 for an unknown key, 429 with `x-ratelimit-*` reset headers, 403 for a team
 * out of credits / over its spending limit. Keys decide the behaviour (see `KeyMode`).
 */

export type KeyMode = 'ok' | 'invalid' | 'rate_limited' | 'no_credits';

export interface XaiRequest {
  method: string;
  path: string;
  key: string;
  body: Record<string, unknown> | null;
}

export interface FakeXai {
  url: string;
  /** The base URL to configure (`xai.base_url`). */
  baseUrl: string;
  requests: XaiRequest[];
  /** Sets what a key does (unknown keys answer 401). */
  key(key: string, mode: KeyMode): void;
  close(): Promise<void>;
}

export const USAGE = { prompt_tokens: 37, completion_tokens: 19, total_tokens: 56, prompt_tokens_details: { cached_tokens: 5, text_tokens: 37, audio_tokens: 0, image_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 11, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
export const REASONING = 'The user greets me; answer briefly.';
export const ANSWER = 'Hello from the xAI API.';
export const TOOL_RESULT_ANSWER = 'It is 18C and sunny in Paris.';
export const MODELS = ['grok-4', 'grok-3-mini', 'grok-2-image'];
// 1×1 transparent PNG.
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

type Msg = { role: string; content?: unknown; tool_calls?: unknown };

/** What the fake model says: a tool call when tools are offered and no result came back yet, JSON for response_format, else a greeting. */
function reply(body: Record<string, unknown>): { content: string | null; calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] } {
  const messages = (body.messages ?? []) as Msg[];
  const tools = (body.tools ?? []) as { function: { name: string } }[];
  const last = messages.at(-1);
  if (tools.length && body.tool_choice !== 'none' && last?.role !== 'tool') {
    return { content: null, calls: [{ id: 'call_xai_1', type: 'function', function: { name: tools[0]!.function.name, arguments: '{"city":"Paris"}' } }] };
  }
  if (last?.role === 'tool') return { content: TOOL_RESULT_ANSWER, calls: [] };
  const rf = body.response_format as { type?: string } | undefined;
  if (rf?.type === 'json_object' || rf?.type === 'json_schema') return { content: '{"answer":"42"}', calls: [] };
  return { content: ANSWER, calls: [] };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, mode: KeyMode): boolean {
  if (mode === 'invalid') {
    send(res, 401, { code: 'Client specified an invalid argument', error: 'Incorrect API key provided: xa***. You can obtain an API key from https://console.x.ai.' });
    return true;
  }
  if (mode === 'rate_limited') {
    send(res, 429, { code: 'Some resource has been exhausted', error: 'Too many requests: rate limit of 60 requests per minute reached.' }, {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '7s',
      'x-ratelimit-reset-tokens': '2s',
    });
    return true;
  }
  if (mode === 'no_credits') {
    send(res, 403, { code: 'The caller does not have permission to execute the specified operation', error: 'Your newly created team doesn\'t have any credits yet. You can purchase credits on https://console.x.ai.' });
    return true;
  }
  return false;
}

function chat(res: ServerResponse, body: Record<string, unknown>) {
  const model = String(body.model ?? '');
  if (!MODELS.includes(model)) {
    send(res, 404, { code: 'Some requested entity was not found', error: `The model ${model} does not exist or your team does not have access to it.` });
    return;
  }
  const { content, calls } = reply(body);
  const id = 'chatcmpl-xai-fake';
  const created = Math.floor(Date.now() / 1000);
  const finish = calls.length ? 'tool_calls' : 'stop';
  if (body.stream !== true) {
    send(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content, reasoning_content: REASONING, ...(calls.length ? { tool_calls: calls } : {}), refusal: null }, finish_reason: finish }],
      usage: USAGE,
      system_fingerprint: 'fp_fake',
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], system_fingerprint: 'fp_fake' })}\n\n`;
  let out = chunk({ role: 'assistant', content: '' });
  for (const piece of REASONING.match(/.{1,9}/g)!) out += chunk({ reasoning_content: piece });
  for (const piece of content?.match(/.{1,5}/g) ?? []) out += chunk({ content: piece });
  // xAI returns each function call whole, in one chunk.
  if (calls.length) out += chunk({ tool_calls: calls.map((c, index) => ({ index, ...c })) });
  out += chunk({}, finish);
  const opts = body.stream_options as { include_usage?: boolean } | undefined;
  if (opts?.include_usage) out += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: USAGE })}\n\n`;
  out += 'data: [DONE]\n\n';
  // Written in two parts so the client's line splitter sees a chunk boundary mid-event.
  const cut = Math.floor(out.length / 2);
  res.write(out.slice(0, cut));
  setTimeout(() => res.end(out.slice(cut)), 5);
}

export async function startFakeXai(): Promise<FakeXai> {
  const keys = new Map<string, KeyMode>();
  const requests: XaiRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | null = null;
      if (raw) {
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          send(res, 400, { code: 'Client specified an invalid argument', error: 'Failed to deserialize the JSON body into the target type' });
          return;
        }
      }
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ method: req.method ?? '', path, key, body });
      if (refuse(res, keys.get(key) ?? 'invalid')) return;
      if (req.method === 'GET' && path === '/v1/models') {
        send(res, 200, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1752019200, owned_by: 'xai' })) });
      } else if (req.method === 'POST' && path === '/v1/chat/completions' && body) {
        chat(res, body);
      } else if (req.method === 'POST' && path === '/v1/images/generations' && body) {
        const n = Number(body.n ?? 1);
        send(res, 200, { data: Array.from({ length: n }, () => ({ b64_json: PNG.toString('base64'), revised_prompt: String(body.prompt) })) });
      } else {
        send(res, 404, { code: 'Some requested entity was not found', error: `No route ${req.method} ${path}` });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    requests,
    key: (k, mode) => keys.set(k, mode),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
