/**
 * Every upstream fault the fake grok.com can produce, and what a client of the proxy must see for
 * each: before the first byte a fault is either failed over (a healthy account answers) or turned
 * into an OpenAI error with a status and code; after the first streamed byte it becomes an in-band
 * error event followed by [DONE].
 */
import type { FakeGrok } from '../fake-grok/server.js';
import { API_KEY, type Stack } from '../helpers/stack.js';

export interface Fault {
  name: string;
  /** Makes `token` (an account of the fake) produce the fault on its next chat turn carrying `prompt`. */
  arm(fake: FakeGrok, token: string, prompt: string): void;
  /** Whether a streamed answer has already sent content to the client when the fault hits. */
  afterFirstByte: boolean;
  /**
   * The client's answer when the faulty account is the only one: HTTP status and error code (a
   * stream after its first byte keeps its 200 and carries the code in-band instead).
   */
  alone: { status: number; code: string };
}

/**
 * Config the matrix runs with: short timeouts so a stall costs a second, not minutes (first byte 3 s:
 * a cold WebSocket dial under load can take a second); accounts tried in id order. A stall after the
 * first answer token is cut by idle_sec (about 0.5 s; test/e2e/stall.test.ts checks the message).
 */
export const MATRIX_OVERRIDES = { timeout: { first_byte_sec: 3, idle_sec: 0.5 }, token: { selection_strategy: 'round_robin' } };

const state = (s: Parameters<FakeGrok['setAccount']>[1]['state']) => (fake: FakeGrok, token: string) => fake.setAccount(token, { state: s });

/**
 * grok.com's scripts match prompts, not accounts: an in-band error is scripted for the first turn
 * that carries the prompt only, so the retry on another account gets a normal answer.
 */
const inBandOnce = (afterTokens: number) => (fake: FakeGrok, _token: string, prompt: string) => {
  let fired = false;
  fake.script((p) => {
    if (fired || !p.includes(prompt)) return false;
    fired = true;
    return true;
  }, { kind: 'error-in-stream', variant: 'stream-errors', afterTokens });
};

export const FAULTS: Fault[] = [
  { name: '401 invalid credentials', arm: state('invalid'), afterFirstByte: false, alone: { status: 502, code: 'upstream_auth_failed' } },
  { name: '403 anti-bot', arm: state('antibot'), afterFirstByte: false, alone: { status: 502, code: 'upstream_anti_bot' } },
  { name: '403 Cloudflare HTML challenge', arm: state('challenge'), afterFirstByte: false, alone: { status: 502, code: 'upstream_anti_bot' } },
  { name: '429 rate limited', arm: state('limited'), afterFirstByte: false, alone: { status: 429, code: 'no_available_tokens' } },
  { name: '503 from grok.com', arm: state('unavailable'), afterFirstByte: false, alone: { status: 502, code: 'upstream_unavailable' } },
  { name: 'reset before headers', arm: state('reset'), afterFirstByte: false, alone: { status: 502, code: 'upstream_unreachable' } },
  { name: 'garbage 200 body', arm: state('garbage'), afterFirstByte: false, alone: { status: 502, code: 'upstream_bad_response' } },
  { name: 'in-band error first line', arm: inBandOnce(0), afterFirstByte: false, alone: { status: 502, code: 'upstream_stream_error' } },
  { name: 'drop mid-stream', arm: state('drop'), afterFirstByte: true, alone: { status: 502, code: 'upstream_unreachable' } },
  { name: 'stall mid-stream', arm: state('stall'), afterFirstByte: true, alone: { status: 504, code: 'upstream_timeout' } },
  { name: 'truncated answer', arm: state('truncate'), afterFirstByte: true, alone: { status: 502, code: 'upstream_bad_response' } },
  { name: 'in-band error mid-stream', arm: inBandOnce(2), afterFirstByte: true, alone: { status: 502, code: 'upstream_stream_error' } },
];

/** What the client saw. */
export interface Observed {
  status: number;
  /** error.code of a JSON error body, or of the in-band error event of a stream. */
  code: string | null;
  /** A streamed 200 whose last events are an error and [DONE]. */
  inBandError: boolean;
  /** The answer text the client got (content deltas joined, or message.content). */
  content: string;
  /** Every error body was {error: {message, type, code}}. */
  errorShaped: boolean;
  ms: number;
}

export async function chatOnce(stack: Stack, prompt: string, stream: boolean): Promise<Observed> {
  const started = performance.now();
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-4', stream, messages: [{ role: 'user', content: prompt }] }),
  });
  const text = await res.text();
  const ms = Math.round(performance.now() - started);
  const shaped = (e: any) => !!e && typeof e.error?.message === 'string' && typeof e.error?.type === 'string' && 'code' in e.error;
  if (res.status !== 200 || !stream) {
    let body: any = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* left null: not JSON */
    }
    const ok = res.status === 200;
    return {
      status: res.status,
      code: ok ? null : (body?.error?.code ?? null),
      inBandError: false,
      content: ok ? (body?.choices?.[0]?.message?.content ?? '') : '',
      errorShaped: ok || shaped(body),
      ms,
    };
  }
  const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
  const events = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
  const err = events.find((e) => e.error);
  return {
    status: res.status,
    code: err?.error?.code ?? null,
    inBandError: !!err && data.at(-1) === '[DONE]' && events.at(-1) === err,
    content: events.map((e) => e.choices?.[0]?.delta?.content ?? '').join(''),
    errorShaped: !err || shaped(err),
    ms,
  };
}
