import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AppError, errors } from '../errors.js';

/**
 * Emulated structured output (`response_format` json_object / json_schema, docs/api-contract.md §4.5). The
 * upstream has no such mode, so the model is instructed, its answer is extracted (code fences and
 * surrounding prose removed) and checked here. Callers retry once on another generation and then
 * fail with `invalidJsonOutput` — never pass invalid JSON on as a normal answer.
 */

export type JsonFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; description?: string; schema: Record<string, unknown>; strict: boolean; validate: ValidateFunction };

let ajv: Ajv | null = null;
function getAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ strict: false, allErrors: true });
    const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
    (addFormats as unknown as (a: Ajv) => void)(ajv);
  }
  return ajv;
}

/** Compiles a client's `json_schema` format; a schema ajv cannot compile is the client's 400. */
export function jsonSchemaFormat(name: string, schema: Record<string, unknown>, strict: boolean, param: string, description?: string): JsonFormat {
  let validate: ValidateFunction;
  try {
    validate = getAjv().compile(schema);
  } catch (err) {
    throw errors.invalidValue(param, `The JSON schema in ${param} could not be compiled: ${(err as Error).message}`);
  }
  return { type: 'json_schema', name, description, schema, strict, validate };
}

/** Instructions appended to the upstream prompt. */
export function jsonInstructions(f: JsonFormat): string {
  const base = 'Respond with a single valid JSON value and nothing else: no Markdown code fences, no text before or after it.';
  if (f.type === 'json_object') return `${base} The value must be a JSON object.`;
  const about = f.description ? ` (${f.description})` : '';
  return `${base} It must conform to this JSON Schema named "${f.name}"${about}:\n${JSON.stringify(f.schema)}`;
}

/** The JSON text inside an answer: fenced block, whole text, or the outermost {…}/[…] span. */
export function extractJson(text: string): string | null {
  const tryParse = (s: string) => {
    try {
      JSON.parse(s);
      return s;
    } catch {
      return null;
    }
  };
  const trimmed = text.trim();
  const fence = /```[a-zA-Z]*\s*\n?([\s\S]*?)```/.exec(trimmed);
  const candidates = [fence?.[1]?.trim(), trimmed];
  for (const c of candidates) if (c && tryParse(c)) return c;
  for (const [open, close] of [['{', '}'], ['[', ']']] as const) {
    const a = trimmed.indexOf(open);
    const b = trimmed.lastIndexOf(close);
    if (a >= 0 && b > a) {
      const s = tryParse(trimmed.slice(a, b + 1));
      if (s) return s;
    }
  }
  return null;
}

export type JsonCheck = { ok: true; text: string } | { ok: false; reason: string; text?: string };

/** Extracts and checks an answer. `text` on failure: valid JSON that only misses the schema. */
export function checkJsonOutput(answer: string, f: JsonFormat): JsonCheck {
  const json = extractJson(answer);
  if (json === null) return { ok: false, reason: 'the answer is not valid JSON' };
  const value: unknown = JSON.parse(json);
  if (f.type === 'json_object') {
    return value && typeof value === 'object' && !Array.isArray(value) ? { ok: true, text: json } : { ok: false, reason: 'the answer is not a JSON object' };
  }
  if (f.validate(value)) return { ok: true, text: json };
  const detail = (f.validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
  return { ok: false, reason: `the answer does not match the schema "${f.name}" (${detail})`, text: json };
}

/** What a client sees when two generations gave no acceptable JSON (`param`: where the format was asked for). */
export function invalidJsonOutput(reason: string, param = 'response_format'): AppError {
  return new AppError(
    502,
    'upstream_error',
    'invalid_json_output',
    `The model did not produce the requested JSON output after a retry: ${reason}. Retry the request, or relax ${param}.`,
    param,
  );
}

/**
 * The retry policy of emulated JSON output, for any generation: `answer` gives the text to check,
 * or null for a result that is not a plain answer (tool calls, a `length` cut: passed as they
 * are, as OpenAI does). A failed check gets one more generation; then a strict schema or
 * unparsable output fails with 502 `invalid_json_output`, and a non-strict schema accepts valid
 * JSON that misses it. `withJson` puts the extracted JSON in place of the answer.
 */
export async function generateJson<T>(
  format: JsonFormat,
  param: string,
  generate: () => Promise<T>,
  answer: (got: T) => string | null,
  withJson: (got: T, json: string) => T,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const got = await generate();
    const text = answer(got);
    if (text === null) return got;
    const check = checkJsonOutput(text, format);
    if (check.ok) return withJson(got, check.text);
    if (attempt === 0) continue;
    if (format.type === 'json_schema' && !format.strict && check.text !== undefined) return withJson(got, check.text);
    throw invalidJsonOutput(check.reason, param);
  }
}
