import type { ChatIntent, NeutralMessage, ToolChoice, ToolSpec } from '../core/intent.js';
import type { ModelSpec } from '../core/models.js';
import { AppError, errors } from '../errors.js';
import {
  functionCallItem,
  functionCallOutputItem,
  responsesMessageItem,
  type ResponsesRequest,
} from '../openai/responses-request.js';
import type { StoredResponse } from '../store/responses.js';
import type { AttachmentRef } from './content-parts.js';
import { jsonInstructions, jsonSchemaFormat, type JsonFormat } from '../tools/json-output.js';
import { checkPart, compactArguments, hasText, promptTokensOf, pushToolCall, unsupported } from './neutral-helpers.js';

export interface ResponsesOptions {
  defaultThinking: boolean;
  maxMessages: number;
}

/** The parsed request: the intent plus what the Response object echoes and what gets stored. */
export interface ResponsesPlan {
  intent: ChatIntent;
  stream: boolean;
  store: boolean;
  /** The conversation to store with the result: earlier turns + this input, without `instructions`. */
  history: NeutralMessage[];
  /** input_image / input_file parts, resolved by the route before the turn. */
  attachments: AttachmentRef[];
  promptTokens: number;
  /** `text.format` json_object/json_schema: the answer is extracted and checked (one retry). */
  jsonFormat?: JsonFormat;
  /** Request fields every Response object (created, completed, GET) repeats. */
  echo: Record<string, unknown>;
}

/** `text.format` → the checked JSON format (a schema ajv cannot compile is the client's 400). */
function jsonFormatOf(format: NonNullable<ResponsesRequest['text']>['format']): JsonFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (!format.schema) throw errors.missing('text.format.schema');
  return jsonSchemaFormat(format.name ?? 'response', format.schema, format.strict === true, 'text.format.schema', format.description);
}

const ROLES = { user: 'user', assistant: 'assistant', system: 'system', developer: 'system' } as const;

/** An input_image / input_file part → where its bytes come from (checked, not fetched yet). */
function attachmentOf(p: Record<string, unknown>, at: string, message: NeutralMessage): AttachmentRef {
  if (typeof p.file_id === 'string') throw unsupported(`${at}.file_id`, 'File ids are not supported (this server has no Files API); send the data inline or as a URL.');
  if (p.type === 'input_image') {
    const url = typeof p.image_url === 'string' ? p.image_url : (p.image_url as { url?: unknown } | undefined)?.url;
    if (typeof url !== 'string' || !url.trim()) throw errors.missing(`${at}.image_url`);
    return { message, source: { kind: 'image', url: url.trim() }, param: `${at}.image_url` };
  }
  const name = typeof p.filename === 'string' ? p.filename : undefined;
  if (typeof p.file_url === 'string' && p.file_url.trim()) return { message, source: { kind: 'file', url: p.file_url.trim(), name }, param: `${at}.file_url` };
  if (typeof p.file_data === 'string' && p.file_data) {
    const source = p.file_data.startsWith('data:') ? { kind: 'file' as const, url: p.file_data, name } : { kind: 'file' as const, base64: p.file_data, name };
    return { message, source, param: `${at}.file_data` };
  }
  throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${at}.file_data' (or file_url).`, `${at}.file_data`);
}

/** Text of a content array; image/file parts become attachment refs of `message` when one is given. */
function partsText(content: string | { type: string }[], param: string, message?: NeutralMessage, refs?: AttachmentRef[]): string[] {
  if (typeof content === 'string') return hasText(content) ? [content] : [];
  const out: string[] = [];
  content.forEach((p, j) => {
    const at = `${param}[${j}]`;
    if (p.type === 'input_text' || p.type === 'output_text' || p.type === 'text' || p.type === 'refusal') {
      const text = (p as { text?: unknown; refusal?: unknown }).text ?? (p as { refusal?: unknown }).refusal;
      if (typeof text !== 'string') throw errors.invalidValue(`${at}.text`, `A '${p.type}' part needs a string \`text\`.`);
      if (hasText(text)) out.push(text);
    } else if ((p.type === 'input_image' || p.type === 'input_file') && message && refs) {
      refs.push(attachmentOf(p as Record<string, unknown>, at, message));
    } else if (p.type === 'input_image' || p.type === 'input_file' || p.type === 'input_audio') {
      throw unsupported(`${at}.type`, `Content part type '${p.type}' is not supported here; send input_text, input_image or input_file parts in user messages.`);
    } else {
      throw errors.invalidValue(`${at}.type`, `Unknown content part type '${p.type}'. Use input_text (or output_text for assistant turns).`);
    }
  });
  return out;
}

/** Request `input` → neutral messages (function calls merge into the preceding assistant turn). */
export function inputToMessages(input: ResponsesRequest['input'], refs: AttachmentRef[] = []): NeutralMessage[] {
  if (typeof input === 'string') return hasText(input) ? [{ role: 'user', parts: [input] }] : [];
  const messages: NeutralMessage[] = [];
  input.forEach((raw, i) => {
    const param = `input[${i}]`;
    const type = raw.type ?? 'message';
    if (type === 'message') {
      const m = checkPart(responsesMessageItem, raw, param);
      const msg: NeutralMessage = { role: ROLES[m.role], parts: [] };
      const before = refs.length;
      msg.parts = partsText(m.content, `${param}.content`, m.role === 'user' ? msg : undefined, refs);
      if (msg.parts.length || refs.length > before) messages.push(msg);
    } else if (type === 'function_call') {
      const c = checkPart(functionCallItem, raw, param);
      pushToolCall(messages, { id: c.call_id, name: c.name, arguments: compactArguments(c.arguments) });
    } else if (type === 'function_call_output') {
      const o = checkPart(functionCallOutputItem, raw, param);
      const parts = typeof o.output === 'string' ? [o.output] : partsText(o.output, `${param}.output`);
      messages.push({ role: 'tool', parts, toolCallId: o.call_id });
    } else if (type === 'reasoning' || type === 'web_search_call') {
      // Replayed output with no text for the model: the upstream reasons and searches anew.
    } else {
      throw unsupported(`${param}.type`, `Input item type '${type}' is not supported; use message, function_call or function_call_output items.`);
    }
  });
  return messages;
}

/** A stored Response's output as the assistant turn it was (reasoning is not replayed). */
export function outputToMessages(output: unknown): NeutralMessage[] {
  const messages: NeutralMessage[] = [];
  const items = Array.isArray(output) ? (output as Record<string, unknown>[]) : [];
  for (const item of items) {
    if (item.type === 'message' && Array.isArray(item.content)) {
      const parts = (item.content as { type: string; text?: string }[]).filter((c) => c.type === 'output_text' && c.text).map((c) => c.text!);
      if (!parts.length) continue;
      const last = messages.at(-1);
      if (last?.role === 'assistant' && !last.toolCalls) last.parts.push(...parts);
      else messages.push({ role: 'assistant', parts });
    } else if (item.type === 'function_call') {
      pushToolCall(messages, { id: String(item.call_id), name: String(item.name), arguments: String(item.arguments ?? '{}') });
    }
  }
  return messages;
}

function toolsOf(req: ResponsesRequest): { specs: ToolSpec[]; echo: unknown[] } {
  const specs: ToolSpec[] = [];
  const echo: unknown[] = [];
  (req.tools ?? []).forEach((t, i) => {
    const tool = t as Record<string, unknown>;
    if (t.type === 'function') {
      if (typeof tool.name !== 'string' || !tool.name) throw errors.missing(`tools[${i}].name`);
      const parameters = (tool.parameters as Record<string, unknown> | null | undefined) ?? undefined;
      const spec: ToolSpec = { name: tool.name };
      if (typeof tool.description === 'string') spec.description = tool.description;
      if (parameters) spec.parameters = parameters;
      specs.push(spec);
      echo.push({ type: 'function', name: tool.name, description: spec.description ?? null, parameters: parameters ?? null, strict: tool.strict ?? true });
    } else if (t.type === 'web_search' || t.type === 'web_search_preview') {
      // grok.com searches the web on its own; the tool is accepted and echoed, nothing more.
      echo.push(tool);
    } else {
      throw unsupported(`tools[${i}].type`, `Tool type '${t.type}' is not supported; use function tools (web_search is accepted as grok's own search).`);
    }
  });
  return { specs, echo };
}

function toolChoiceOf(raw: unknown): { choice: ToolChoice; echo: unknown } {
  if (raw === undefined || raw === null || raw === 'auto') return { choice: 'auto', echo: 'auto' };
  if (raw === 'none' || raw === 'required') return { choice: raw, echo: raw };
  if (typeof raw === 'object') {
    const o = raw as { type?: string; name?: string };
    if (o.type === 'function' && typeof o.name === 'string' && o.name) return { choice: { name: o.name }, echo: { type: 'function', name: o.name } };
    if (o.type === 'web_search' || o.type === 'web_search_preview') return { choice: 'auto', echo: { type: o.type } };
  }
  throw errors.invalidValue('tool_choice', "'tool_choice' must be 'auto', 'none', 'required' or {\"type\": \"function\", \"name\": …}.");
}

/** Request (+ the stored response it continues) → plan. Throws 4xx AppErrors. */
export function planResponses(req: ResponsesRequest, model: ModelSpec, previous: StoredResponse | null, opts: ResponsesOptions): ResponsesPlan {
  if (model.kind !== 'chat') {
    throw errors.invalidValue('model', `The model \`${model.id}\` is a ${model.kind} model; use a chat model with /v1/responses.`);
  }
  const format = req.text?.format;
  const attachments: AttachmentRef[] = [];
  const history = [...(previous ? [...previous.messages, ...outputToMessages(previous.response.output)] : []), ...inputToMessages(req.input, attachments)];
  const messages: NeutralMessage[] = [];
  if (req.instructions) messages.push({ role: 'system', parts: [req.instructions] });
  messages.push(...history);
  const jsonFormat = jsonFormatOf(format);
  if (jsonFormat) messages.push({ role: 'system', parts: [jsonInstructions(jsonFormat)], emulates: 'json_output' });
  if (!history.length) throw errors.invalidValue('input', "'input' has no text to send: give a string or at least one item with content.");
  if (messages.length > opts.maxMessages) {
    throw errors.invalidValue('input', `The conversation has ${messages.length} messages; at most ${opts.maxMessages} are allowed (security.max_messages).`);
  }
  const tools = toolsOf(req);
  const toolChoice = toolChoiceOf(req.tool_choice);
  const effort = req.reasoning?.effort ?? null;
  const wants = effort ? effort !== 'none' && effort !== 'minimal' : opts.defaultThinking;
  const intent: ChatIntent = { kind: 'chat', model, messages, thinking: wants };
  if (tools.specs.length) {
    intent.tools = tools.specs;
    intent.toolChoice = toolChoice.choice;
  }
  if (req.max_output_tokens) intent.limits = { maxTokens: req.max_output_tokens };
  const store = req.store !== false;
  return {
    intent,
    stream: req.stream === true,
    store,
    history,
    attachments,
    promptTokens: promptTokensOf(messages),
    ...(jsonFormat ? { jsonFormat } : {}),
    echo: {
      instructions: req.instructions ?? null,
      max_output_tokens: req.max_output_tokens ?? null,
      parallel_tool_calls: req.parallel_tool_calls ?? true,
      previous_response_id: req.previous_response_id ?? null,
      reasoning: { effort, summary: req.reasoning?.summary ?? null },
      store,
      temperature: req.temperature ?? 1,
      text: { format: format ?? { type: 'text' } },
      tool_choice: toolChoice.echo,
      tools: tools.echo,
      top_p: req.top_p ?? 1,
      truncation: 'disabled',
      metadata: req.metadata ?? {},
      user: req.user ?? null,
    },
  };
}
