import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the official xAI API (https://api.x.ai/v1), OpenAI-shaped as xAI documents it:
 * - `POST /v1/chat/completions`, JSON or SSE `chat.completion.chunk`s: `reasoning_content` deltas,
 *   tool calls as `delta.tool_calls` entries carrying `index`, `id`, `type` and `function` (xAI sends
 *   each call whole in one delta; a script may ask for OpenAI-style fragments instead), a finish
 *   chunk, and — with `stream_options.include_usage` — a last chunk with `choices: []` and the
 *   usage (`prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`);
 *   natively honoured: `tools`, `tool_choice` (`none` drops calls), `parallel_tool_calls: false`
 *   (one call), `max_tokens` (cut, `finish_reason: "length"`), `response_format`;
 * - `GET /v1/models`, `POST /v1/images/generations` (b64_json);
 * - `x-ratelimit-*` headers on every answer, and the failures: 401 for an unknown key, 429 with
 *   the reset headers, 403 for a team out of credits, 404 for an unknown model. Error bodies are
 *   the OpenAI envelope `{error: {message, type, code}}`; `errorShape: 'grpc'` answers instead with
 *   the `{code, error}` form xAI's gRPC gateway has been seen to send (the server reads both).
 *
 * Keys decide the failures (see `KeyMode`). Answers are the defaults below unless a test scripts
 * one (`script`): scripted answers are counted in fake tokens (a word with its leading space).
 */

export type KeyMode = 'ok' | 'invalid' | 'rate_limited' | 'no_credits';

export interface XaiRequest {
  method: string;
  path: string;
  key: string;
  body: Record<string, unknown> | null;
  receivedAt: number;
  /** When the exchange ended (either side); null while open. */
  closedAt: number | null;
  /** The client closed the connection before the fake finished its answer. */
  clientAborted: boolean;
}

/** A scripted answer. */
export interface XaiReply {
  content?: string;
  reasoning?: string;
  calls?: { id?: string; name: string; arguments: string }[];
  /** Characters per content/reasoning delta (default 5). */
  chunkSize?: number;
  /** Pause between deltas, ms (default none). */
  interTokenDelayMs?: number;
  /** 'whole' (xAI: each call in one delta, the default) or 'fragments' (id and name, then the arguments in pieces). */
  callStyle?: 'whole' | 'fragments';
}

export interface ChatBody {
  model?: string;
  messages?: { role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  max_tokens?: number;
  response_format?: { type?: string };
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/** A string matches as a substring of the conversation's text (every message's text content). */
export type XaiMatch = string | RegExp | ((body: ChatBody) => boolean);

export interface FakeXaiOptions {
  errorShape?: 'openai' | 'grpc';
}

export interface FakeXai {
  url: string;
  /** The base URL to configure (`xai.base_url`). */
  baseUrl: string;
  requests: XaiRequest[];
  /** Sets what a key does (unknown keys answer 401). */
  key(key: string, mode: KeyMode): void;
  /** Scripts the answer to chat turns that match; the newest matching script wins. */
  script(match: XaiMatch, reply: XaiReply): void;
  /** Resolves with the first recorded request that satisfies `pred` (now or later). */
  waitFor(pred: (r: XaiRequest) => boolean, timeoutMs?: number): Promise<XaiRequest>;
  close(): Promise<void>;
}

export const USAGE = { prompt_tokens: 37, completion_tokens: 19, total_tokens: 56, prompt_tokens_details: { cached_tokens: 5, text_tokens: 37, audio_tokens: 0, image_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 11, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
export const REASONING = 'The user greets me; answer briefly.';
export const ANSWER = 'Hello from the xAI API.';
export const TOOL_RESULT_ANSWER = 'It is 18C and sunny in Paris.';
export const MODELS = ['grok-4', 'grok-3-mini', 'grok-2-image'];
// 1×1 transparent PNG.
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** The fake's tokens: a word with the whitespace before it. */
const fakeTokens = (s: string): string[] => s.match(/\s*\S+/g) ?? [];

/** The text of every message, in order (string contents and the text parts of arrays). */
export function conversationText(body: ChatBody): string {
  const parts: string[] = [];
  for (const m of body.messages ?? []) {
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content)) for (const p of m.content as { type?: string; text?: string }[]) if (p.type === 'text' && p.text) parts.push(p.text);
  }
  return parts.join('\n');
}

type Call = { id: string; type: 'function'; function: { name: string; arguments: string } };
interface Answer {
  content: string | null;
  reasoning: string;
  calls: Call[];
  chunkSize: number;
  delayMs: number;
  callStyle: 'whole' | 'fragments';
  /** Fixed usage for the default answers; scripted ones are counted. */
  usage: typeof USAGE | null;
}

/** What the fake model says when nothing is scripted: a tool call when tools are offered and no result came back yet, JSON for response_format, else a greeting. */
function defaultAnswer(body: ChatBody): Answer {
  const base = { reasoning: REASONING, chunkSize: 5, delayMs: 0, callStyle: 'whole' as const, usage: USAGE };
  const messages = body.messages ?? [];
  const tools = body.tools ?? [];
  const last = messages.at(-1);
  if (tools.length && body.tool_choice !== 'none' && last?.role !== 'tool') {
    return { ...base, content: null, calls: [{ id: 'call_xai_1', type: 'function', function: { name: tools[0]!.function.name, arguments: '{"city":"Paris"}' } }] };
  }
  if (last?.role === 'tool') return { ...base, content: TOOL_RESULT_ANSWER, calls: [] };
  const rf = body.response_format;
  if (rf?.type === 'json_object' || rf?.type === 'json_schema') return { ...base, content: '{"answer":"42"}', calls: [] };
  return { ...base, content: ANSWER, calls: [] };
}

function scripted(r: XaiReply): Answer {
  let n = 0;
  return {
    content: r.content ?? (r.calls?.length ? null : ''),
    reasoning: r.reasoning ?? '',
    calls: (r.calls ?? []).map((c) => ({ id: c.id ?? `call_${(++n).toString().padStart(8, '0')}`, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    chunkSize: r.chunkSize ?? 5,
    delayMs: r.interTokenDelayMs ?? 0,
    callStyle: r.callStyle ?? 'whole',
    usage: null,
  };
}

/**
 * The request's own parameters applied as the API does: `tool_choice: "none"` means no calls,
 * `parallel_tool_calls: false` at most one, `max_tokens` cuts reasoning then content. Returns the
 * answer to send, its finish reason and its usage.
 */
function shape(body: ChatBody, a: Answer) {
  let calls = a.calls;
  if (body.tool_choice === 'none') calls = [];
  if (body.parallel_tool_calls === false) calls = calls.slice(0, 1);
  let content = a.content;
  let reasoning = a.reasoning;
  let finish: 'stop' | 'length' | 'tool_calls' = calls.length ? 'tool_calls' : 'stop';
  if (content === null && !calls.length) content = '';
  const limit = body.max_tokens;
  if (limit !== undefined) {
    const r = fakeTokens(reasoning);
    const c = fakeTokens(content ?? '');
    if (r.length + c.length > limit) {
      reasoning = r.slice(0, limit).join('');
      content = c.slice(0, Math.max(0, limit - r.length)).join('');
      calls = [];
      finish = 'length';
    }
  }
  let usage = a.usage;
  if (!usage || finish === 'length') {
    const prompt = fakeTokens(conversationText(body)).length;
    const reasoningTokens = fakeTokens(reasoning).length;
    const completion = reasoningTokens + fakeTokens(content ?? '').length + calls.reduce((n, c) => n + fakeTokens(c.function.arguments).length + 1, 0);
    usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: 0, text_tokens: prompt, audio_tokens: 0, image_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }
  return { content, reasoning, calls, finish, usage };
}

const RATE_HEADERS = {
  'x-ratelimit-limit-requests': '60',
  'x-ratelimit-remaining-requests': '59',
  'x-ratelimit-reset-requests': '1s',
  'x-ratelimit-limit-tokens': '100000',
  'x-ratelimit-remaining-tokens': '99000',
  'x-ratelimit-reset-tokens': '600ms',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pieces = (s: string, size: number) => s.match(new RegExp(`[\\s\\S]{1,${size}}`, 'g')) ?? [];

export async function startFakeXai(opts: FakeXaiOptions = {}): Promise<FakeXai> {
  const keys = new Map<string, KeyMode>();
  const scripts: { match: XaiMatch; reply: XaiReply }[] = [];
  const requests: XaiRequest[] = [];
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const w of [...waiters]) w();
  };

  function fail(res: ServerResponse, status: number, message: string, type: string, code: string, headers: Record<string, string> = {}, grpcCode = '') {
    const body = opts.errorShape === 'grpc' ? { code: grpcCode, error: message } : { error: { message, type, code } };
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }
  function send(res: ServerResponse, body: unknown) {
    res.writeHead(200, { 'content-type': 'application/json', ...RATE_HEADERS });
    res.end(JSON.stringify(body));
  }

  function refuse(res: ServerResponse, mode: KeyMode): boolean {
    if (mode === 'invalid') {
      fail(res, 401, 'Incorrect API key provided: xa***. You can obtain an API key from https://console.x.ai.', 'invalid_request_error', 'invalid_api_key', {}, 'Client specified an invalid argument');
      return true;
    }
    if (mode === 'rate_limited') {
      fail(res, 429, 'Too many requests: rate limit of 60 requests per minute reached.', 'rate_limit_error', 'rate_limit_exceeded', {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '7s',
        'x-ratelimit-reset-tokens': '2s',
      }, 'Some resource has been exhausted');
      return true;
    }
    if (mode === 'no_credits') {
      fail(res, 403, 'Your newly created team doesn\'t have any credits yet. You can purchase credits on https://console.x.ai.', 'permission_error', 'insufficient_credits', {}, 'The caller does not have permission to execute the specified operation');
      return true;
    }
    return false;
  }

  function answerFor(body: ChatBody): Answer {
    const text = conversationText(body);
    for (let i = scripts.length - 1; i >= 0; i--) {
      const { match, reply } = scripts[i]!;
      const hit = typeof match === 'string' ? text.includes(match) : match instanceof RegExp ? match.test(text) : match(body);
      if (hit) return scripted(reply);
    }
    return defaultAnswer(body);
  }

  async function chat(res: ServerResponse, rec: XaiRequest, body: ChatBody) {
    const model = String(body.model ?? '');
    if (!MODELS.includes(model)) {
      fail(res, 404, `The model ${model} does not exist or your team does not have access to it.`, 'invalid_request_error', 'model_not_found', {}, 'Some requested entity was not found');
      return;
    }
    const a = answerFor(body);
    const { content, reasoning, calls, finish, usage } = shape(body, a);
    const id = 'chatcmpl-xai-fake';
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      send(res, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content, ...(reasoning ? { reasoning_content: reasoning } : {}), ...(calls.length ? { tool_calls: calls } : {}), refusal: null }, finish_reason: finish }],
        usage,
        system_fingerprint: 'fp_fake',
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...RATE_HEADERS });
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, ...(finishReason ? { finish_reason: finishReason } : {}) }], system_fingerprint: 'fp_fake' })}\n\n`;
    const events: string[] = [chunk({ role: 'assistant', content: '' })];
    for (const p of pieces(reasoning, a.chunkSize)) events.push(chunk({ reasoning_content: p }));
    for (const p of pieces(content ?? '', a.chunkSize)) events.push(chunk({ content: p }));
    calls.forEach((c, index) => {
      if (a.callStyle === 'whole') {
        events.push(chunk({ tool_calls: [{ index, ...c }] }));
        return;
      }
      events.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
      for (const p of pieces(c.function.arguments, 4)) events.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }));
    });
    events.push(chunk({}, finish));
    if (body.stream_options?.include_usage) events.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage, system_fingerprint: 'fp_fake' })}\n\n`);
    events.push('data: [DONE]\n\n');
    if (!a.delayMs) {
      // Written in two parts so the client's line splitter sees a chunk boundary mid-event.
      const out = events.join('');
      const cut = Math.floor(out.length / 2);
      res.write(out.slice(0, cut));
      await sleep(5);
      if (!rec.clientAborted) res.end(out.slice(cut));
      return;
    }
    for (const e of events) {
      if (rec.clientAborted) return;
      res.write(e);
      await sleep(a.delayMs);
    }
    res.end();
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const path = (req.url ?? '').split('?')[0]!;
      let body: Record<string, unknown> | null = null;
      const rec: XaiRequest = { method: req.method ?? '', path, key, body, receivedAt: Date.now(), closedAt: null, clientAborted: false };
      res.on('close', () => {
        rec.clientAborted = !res.writableFinished;
        rec.closedAt = Date.now();
        changed();
      });
      if (raw) {
        try {
          body = rec.body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          fail(res, 400, 'Failed to deserialize the JSON body into the target type', 'invalid_request_error', 'invalid_json', {}, 'Client specified an invalid argument');
          return;
        }
      }
      requests.push(rec);
      changed();
      if (refuse(res, keys.get(key) ?? 'invalid')) return;
      if (req.method === 'GET' && path === '/v1/models') {
        send(res, { object: 'list', data: MODELS.map((id) => ({ id, object: 'model', created: 1752019200, owned_by: 'xai' })) });
      } else if (req.method === 'POST' && path === '/v1/chat/completions' && body) {
        chat(res, rec, body as ChatBody).catch(() => res.destroy());
      } else if (req.method === 'POST' && path === '/v1/images/generations' && body) {
        const n = Number(body.n ?? 1);
        send(res, { data: Array.from({ length: n }, () => ({ b64_json: PNG.toString('base64'), revised_prompt: String(body!.prompt) })) });
      } else {
        fail(res, 404, `No route ${req.method} ${path}`, 'invalid_request_error', 'not_found', {}, 'Some requested entity was not found');
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
    script: (match, reply) => scripts.push({ match, reply }),
    waitFor(pred, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = requests.find(pred);
          if (!hit) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`fake-xai waitFor: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
