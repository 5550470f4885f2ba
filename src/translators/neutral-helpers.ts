import type { z } from 'zod';
import type { NeutralMessage, ToolCall } from '../core/intent.js';
import { AppError } from '../errors.js';
import { countTokens } from '../lib/tokenizer.js';

/**
 * Small pieces the Responses and Anthropic translators share: prompt token estimates, request
 * checks that name the exact parameter, and the JSON-output instruction.
 */

/** Estimated prompt tokens of a neutral conversation (per-message overhead as in OpenAI's chat format). */
export function promptTokensOf(messages: readonly NeutralMessage[]): number {
  let n = 3;
  for (const m of messages) {
    n += 4;
    for (const p of m.parts) n += countTokens(p);
    for (const c of m.toolCalls ?? []) n += countTokens(c.name) + countTokens(c.arguments);
  }
  return n;
}

/**
 * Whether a text part says anything. Whitespace-only text is dropped like "" on every endpoint,
 * so a prompt of blanks gets the same 400 as an empty one instead of a pointless upstream call.
 */
export const hasText = (text: string): boolean => text.trim() !== '';

export function unsupported(param: string, what: string): AppError {
  return new AppError(400, 'invalid_request_error', 'unsupported_parameter', what, param);
}

/** Checks `value` against `schema`; the first problem becomes a 400 naming `param.<path>`. */
export function checkPart<S extends z.ZodType>(schema: S, value: unknown, param: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  const full = param + path;
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
    throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${full}'.`, full);
  }
  throw new AppError(400, 'invalid_request_error', 'invalid_value', `Invalid value for '${full}': ${issue.message}.`, full);
}

/** Arguments as compact JSON text, whatever form the client sent them in. */
export function compactArguments(args: unknown): string {
  if (typeof args === 'string') {
    try {
      return JSON.stringify(JSON.parse(args));
    } catch {
      return args;
    }
  }
  return JSON.stringify(args ?? {});
}

/** Appends calls to the assistant message at the end of `messages`, or starts one. */
export function pushToolCall(messages: NeutralMessage[], call: ToolCall): void {
  const last = messages.at(-1);
  if (last && last.role === 'assistant') (last.toolCalls ??= []).push(call);
  else messages.push({ role: 'assistant', parts: [], toolCalls: [call] });
}

