import type { OutputLimits, ToolCall, ToolChoice, ToolSpec } from '../core/intent.js';
import { errors } from '../errors.js';
import type { ChatRequest, ChatRequestMessage } from '../openai/chat-request.js';
import { jsonSchemaFormat, type JsonFormat } from '../tools/json-output.js';

/**
 * Chat Completions parameters the upstream cannot honour, mapped onto the proxy's emulation
 * (docs/api-contract.md §4.3–4.6): client tools and `tool_choice`, assistant `tool_calls` in the history, `stop`,
 * `max_tokens`/`max_completion_tokens`, `n`, `response_format`.
 */

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TOOLS = 128;
/** Hosted tools grok.com runs itself (search); accepted, not offered as client tools. */
const HOSTED = new Set(['web_search', 'web_search_preview']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

export function parseTools(raw: readonly unknown[] | null | undefined): ToolSpec[] {
  if (!raw?.length) return [];
  if (raw.length > MAX_TOOLS) throw errors.invalidValue('tools', `'tools' has ${raw.length} entries; at most ${MAX_TOOLS} are allowed.`);
  const tools: ToolSpec[] = [];
  raw.forEach((t, i) => {
    const param = `tools[${i}]`;
    if (!isObj(t)) throw errors.invalidValue(param, 'Each tool must be an object like {"type":"function","function":{...}}.');
    if (typeof t.type === 'string' && HOSTED.has(t.type)) return;
    if (t.type !== 'function') throw errors.invalidValue(`${param}.type`, `Tool type '${String(t.type)}' is not supported; use 'function'.`);
    const fn = t.function;
    if (!isObj(fn)) throw errors.missing(`${param}.function`);
    if (typeof fn.name !== 'string' || !NAME.test(fn.name)) {
      throw errors.invalidValue(`${param}.function.name`, 'A function name must be 1-64 characters of a-z, A-Z, 0-9, underscore or dash.');
    }
    if (tools.some((x) => x.name === fn.name)) throw errors.invalidValue(`${param}.function.name`, `The function name '${fn.name}' is declared twice.`);
    if (fn.parameters != null && !isObj(fn.parameters)) throw errors.invalidValue(`${param}.function.parameters`, 'Function parameters must be a JSON Schema object.');
    const spec: ToolSpec = { name: fn.name };
    if (typeof fn.description === 'string' && fn.description) spec.description = fn.description;
    if (isObj(fn.parameters)) spec.parameters = fn.parameters;
    tools.push(spec);
  });
  return tools;
}

export function parseToolChoice(raw: unknown, tools: readonly ToolSpec[]): ToolChoice {
  if (raw == null) return 'auto';
  const kind = typeof raw === 'string' ? raw : isObj(raw) ? raw.type : undefined;
  if (kind === 'auto' || kind === 'none' || kind === 'required') {
    if (kind === 'required' && !tools.length) throw errors.invalidValue('tool_choice', "tool_choice 'required' needs at least one function in 'tools'.");
    return kind;
  }
  if (isObj(raw) && kind === 'function') {
    const fn = raw.function;
    const name = isObj(fn) ? fn.name : raw.name;
    if (typeof name !== 'string') throw errors.missing('tool_choice.function.name');
    if (!tools.some((t) => t.name === name)) throw errors.invalidValue('tool_choice.function.name', `tool_choice names '${name}', which is not a function in 'tools'.`);
    return { name };
  }
  throw errors.invalidValue('tool_choice', "tool_choice must be 'auto', 'none', 'required' or {\"type\":\"function\",\"function\":{\"name\":...}}.");
}

/** An assistant message's `tool_calls` (and legacy `function_call`), replayed upstream. */
export function assistantToolCalls(m: ChatRequestMessage, index: number): ToolCall[] {
  const calls: ToolCall[] = [];
  const raw = m.tool_calls ?? [];
  raw.forEach((c, j) => {
    const param = `messages[${index}].tool_calls[${j}]`;
    if (!isObj(c) || !isObj(c.function) || typeof c.function.name !== 'string') throw errors.invalidValue(param, 'A tool call needs {"id","type":"function","function":{"name","arguments"}}.');
    const args = c.function.arguments;
    calls.push({ id: typeof c.id === 'string' ? c.id : `call_${index}_${j}`, name: c.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) });
  });
  const legacy = (m as { function_call?: unknown }).function_call;
  if (isObj(legacy) && typeof legacy.name === 'string') {
    calls.push({ id: `call_${index}_legacy`, name: legacy.name, arguments: typeof legacy.arguments === 'string' ? legacy.arguments : '{}' });
  }
  return calls;
}

export function parseLimits(req: ChatRequest): OutputLimits | undefined {
  const limits: OutputLimits = {};
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? []).filter((s) => s.length > 0);
  if (stop.length) limits.stop = stop;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) limits.maxTokens = max;
  return limits.stop || limits.maxTokens !== undefined ? limits : undefined;
}

export function parseResponseFormat(req: ChatRequest): JsonFormat | undefined {
  const f = req.response_format;
  if (!f || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  const js = f.json_schema;
  if (!js) throw errors.missing('response_format.json_schema');
  return jsonSchemaFormat(js.name, js.schema ?? { type: 'object' }, js.strict === true, 'response_format.json_schema.schema', js.description ?? undefined);
}
