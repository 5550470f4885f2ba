import type { ChatIntent, NeutralMessage, NeutralRole, OutputFormat } from '../core/intent.js';
import type { ModelSpec } from '../core/models.js';
import { AppError, errors } from '../errors.js';
import { countTokens } from '../lib/tokenizer.js';
import { toolsActive } from '../tools/apply.js';
import { jsonInstructions, type JsonFormat } from '../tools/json-output.js';
import { renderToolPrompt } from '../tools/prompt.js';
import type { ChatRequest, ChatRequestMessage } from '../openai/chat-request.js';
import { assistantToolCalls, parseLimits, parseResponseFormat, parseToolChoice, parseTools } from './chat-emulated.js';
import { attachmentSource, isAttachmentPart, type AttachmentRef } from './content-parts.js';
import { hasText } from './neutral-helpers.js';

/** What the chat translator needs to know besides the request. */
export interface ChatOptions {
  defaultThinking: boolean;
  reasoningFormat: 'field' | 'think_tags';
  maxMessages: number;
}

/** The parsed request plus what only the translator cares about. */
export interface ChatPlan {
  intent: ChatIntent;
  stream: boolean;
  includeUsage: boolean;
  /** Estimated prompt tokens, computed once from the neutral messages. */
  promptTokens: number;
  reasoningFormat: 'field' | 'think_tags';
  /** Independent generations to run (`n`), each its own choice. */
  n: number;
  /** `response_format` json_object/json_schema: the answer is extracted and checked. */
  jsonFormat?: JsonFormat;
  /** `parallel_tool_calls: false`: at most one call per answer (extra calls are dropped). */
  singleToolCall: boolean;
  /** Image/audio/file parts, resolved (fetched, checked) by the route with `resolveAttachments`. */
  attachments: AttachmentRef[];
}

const ROLE_MAP: Record<ChatRequestMessage['role'], NeutralRole> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

function unsupported(param: string, what: string): AppError {
  return new AppError(400, 'invalid_request_error', 'unsupported_parameter', `${what} is not supported by this server yet.`, param);
}

function textParts(msg: ChatRequestMessage, index: number, found?: Omit<AttachmentRef, 'message'>[]): string[] {
  const { content } = msg;
  if (content == null) return [];
  if (typeof content === 'string') return hasText(content) ? [content] : [];
  const parts: string[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text' || part.type === 'input_text') {
      const text = (part as { text?: unknown }).text;
      if (typeof text !== 'string') throw errors.invalidValue(`messages[${index}].content[${j}].text`, 'A text part needs a string `text`.');
      if (hasText(text)) parts.push(text);
    } else if (found && isAttachmentPart(part.type)) {
      found.push(attachmentSource(part, `messages[${index}].content[${j}]`));
    } else {
      throw unsupported(`messages[${index}].content[${j}].type`, `Content part type '${part.type}'`);
    }
  });
  return parts;
}

/** `thinking` says it outright; else a `reasoning_effort` asks for reasoning unless it is none/minimal; else the config default. */
function wantsThinking(req: ChatRequest, fallback: boolean): boolean {
  const t = req.thinking;
  if (t) return (typeof t === 'string' ? t : t.type) === 'enabled';
  const effort = req.reasoning_effort;
  if (effort) return effort !== 'none' && effort !== 'minimal';
  return fallback;
}

/** Request → intent. Throws 4xx AppErrors for what cannot be served. */
export function planChat(req: ChatRequest, model: ModelSpec, opts: ChatOptions): ChatPlan {
  if (model.kind !== 'chat') {
    throw errors.invalidValue('model', `The model \`${model.id}\` is a ${model.kind} model; use a chat model with /v1/chat/completions.`);
  }
  if (req.messages.length > opts.maxMessages) {
    throw errors.invalidValue('messages', `'messages' has ${req.messages.length} entries; at most ${opts.maxMessages} are allowed (security.max_messages).`);
  }
  const tools = parseTools(req.tools);
  const toolChoice = parseToolChoice(req.tool_choice, tools);
  const jsonFormat = parseResponseFormat(req);
  if (req.stream_options && req.stream !== true) {
    throw errors.invalidValue('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
  }
  const messages: NeutralMessage[] = [];
  let promptTokens = 0;
  const attachments: AttachmentRef[] = [];
  req.messages.forEach((m, i) => {
    const found: Omit<AttachmentRef, 'message'>[] = [];
    const parts = textParts(m, i, found);
    const toolCalls = m.role === 'assistant' ? assistantToolCalls(m, i) : [];
    if (!parts.length && !found.length && !toolCalls.length) return;
    const msg: NeutralMessage = { role: ROLE_MAP[m.role], parts };
    if (m.tool_call_id) msg.toolCallId = m.tool_call_id;
    if (toolCalls.length) msg.toolCalls = toolCalls;
    for (const c of toolCalls) promptTokens += countTokens(c.name) + countTokens(c.arguments);
    messages.push(msg);
    for (const f of found) attachments.push({ ...f, message: msg });
    // Per-message overhead of OpenAI's chat format (role and separators).
    promptTokens += 4;
    for (const p of parts) promptTokens += countTokens(p);
  });
  if (!messages.length) throw errors.invalidValue('messages', "'messages' has no text to send: at least one message needs non-empty content.");
  // The JSON instruction goes last, where the model reads it right before answering.
  if (jsonFormat) messages.push({ role: 'system', parts: [jsonInstructions(jsonFormat)], emulates: 'json_output' });
  const intent: ChatIntent = { kind: 'chat', model, messages, thinking: wantsThinking(req, opts.defaultThinking) };
  if (tools.length) Object.assign(intent, { tools, toolChoice });
  const limits = parseLimits(req);
  if (limits) intent.limits = limits;
  if (jsonFormat) intent.outputFormat = outputFormatOf(jsonFormat);
  if (req.parallel_tool_calls === false) intent.parallelToolCalls = false;
  const sampling = { ...(req.temperature != null ? { temperature: req.temperature } : {}), ...(req.top_p != null ? { topP: req.top_p } : {}) };
  if (Object.keys(sampling).length) intent.sampling = sampling;
  if (toolsActive(intent)) promptTokens += countTokens(renderToolPrompt(tools, toolChoice));
  if (jsonFormat) promptTokens += countTokens(messages.at(-1)!.parts[0]!);
  return {
    intent,
    n: req.n ?? 1,
    jsonFormat,
    singleToolCall: req.parallel_tool_calls === false,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    promptTokens: promptTokens + 3,
    reasoningFormat: opts.reasoningFormat,
    attachments,
  };
}

/** An image or video model asked through /v1/chat/completions, planned for the same chat translators. */
export interface MediaChatPlan {
  /** One choice; progress arrives as reasoning (always shown), the result as text. */
  plan: ChatPlan;
  /** The last user message's text: what to generate. */
  prompt: string;
  /** URLs of the last user message's `image_url` parts (edit inputs, a video's source image). */
  images: string[];
}

/**
 * Request → media plan (docs/api-contract.md §4.10): the last user message is the prompt, its
 * `image_url` parts the input images; the other messages, tools and sampling knobs do not apply.
 */
export function planMediaChat(req: ChatRequest, model: ModelSpec, opts: Pick<ChatOptions, 'reasoningFormat'>): MediaChatPlan {
  if (req.stream_options && req.stream !== true) {
    throw errors.invalidValue('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
  }
  const msg = [...req.messages].reverse().find((m) => m.role === 'user');
  const text: string[] = [];
  const images: string[] = [];
  if (typeof msg?.content === 'string') text.push(msg.content);
  else {
    for (const p of (msg?.content ?? []) as Record<string, any>[]) {
      if (p.type === 'text' && typeof p.text === 'string') text.push(p.text);
      else if (p.type === 'image_url') {
        const u = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
        if (typeof u === 'string') images.push(u);
      }
    }
  }
  const prompt = text.join('\n');
  if (!prompt.trim()) throw new AppError(400, 'invalid_request_error', 'empty_prompt', 'The last user message must contain the text describing what to generate.', 'messages');
  const intent: ChatIntent = { kind: 'chat', model, messages: [{ role: 'user', parts: [prompt] }], thinking: true };
  const plan: ChatPlan = {
    intent,
    n: 1,
    singleToolCall: false,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    promptTokens: 0,
    reasoningFormat: opts.reasoningFormat,
    attachments: [],
  };
  return { plan, prompt, images };
}

/** The neutral form of a checked JSON format (the validator stays with the proxy's check). */
export function outputFormatOf(f: JsonFormat): OutputFormat {
  if (f.type === 'json_object') return { type: 'json_object' };
  return { type: 'json_schema', name: f.name, ...(f.description ? { description: f.description } : {}), schema: f.schema, strict: f.strict };
}
