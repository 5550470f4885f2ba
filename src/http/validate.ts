import type { z } from 'zod';
import { AppError, errors } from '../errors.js';

/** `messages[3].role` style path, as OpenAI names parameters in errors. */
function paramPath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/**
 * Parses a request body with a zod schema; the first problem becomes a 400 in the OpenAI shape,
 * naming the parameter and saying what is expected.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.invalidJson('the body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = paramPath(issue.path);
  const isMissing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
  if (isMissing) throw errors.missing(param);
  throw new AppError(400, 'invalid_request_error', 'invalid_value', `Invalid value for '${param}': ${issue.message}.`, param);
}
