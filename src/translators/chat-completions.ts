import type { UpstreamEvent } from '../core/events.js';
import type { ChatIntent, NeutralMessage, NeutralRole } from '../core/intent.js';
import type { ModelSpec } from '../core/models.js';
import { AppError, errors, toAppError } from '../errors.js';
import { sseData } from '../http/sse.js';
import { randomId } from '../lib/ids.js';
import { countTokens } from '../lib/tokenizer.js';
import type { ChatRequest, ChatRequestMessage } from '../openai/chat-request.js';

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

function textParts(msg: ChatRequestMessage, index: number): string[] {
  const { content } = msg;
  if (content == null) return [];
  if (typeof content === 'string') return content ? [content] : [];
  const parts: string[] = [];
  content.forEach((part, j) => {
    if (part.type === 'text' || part.type === 'input_text') {
      const text = (part as { text?: unknown }).text;
      if (typeof text !== 'string') throw errors.invalidValue(`messages[${index}].content[${j}].text`, 'A text part needs a string `text`.');
      if (text) parts.push(text);
    } else {
      throw unsupported(`messages[${index}].content[${j}].type`, `Content part type '${part.type}'`);
    }
  });
  return parts;
}

function wantsThinking(req: ChatRequest, fallback: boolean): boolean {
  const effort = req.reasoning_effort;
  if (effort === 'none' || effort === 'minimal') return false;
  const t = req.thinking;
  if (t) return (typeof t === 'string' ? t : t.type) === 'enabled';
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
  if (req.n && req.n > 1) throw unsupported('n', 'n > 1');
  if (req.tools?.length && req.tool_choice !== 'none') throw unsupported('tools', 'Client tool calling');
  if (req.response_format && req.response_format.type !== 'text') throw unsupported('response_format', `response_format '${req.response_format.type}'`);
  if (req.stream_options && req.stream !== true) {
    throw errors.invalidValue('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
  }
  const messages: NeutralMessage[] = [];
  let promptTokens = 0;
  req.messages.forEach((m, i) => {
    const parts = textParts(m, i);
    if (!parts.length) return;
    const msg: NeutralMessage = { role: ROLE_MAP[m.role], parts };
    if (m.tool_call_id) msg.toolCallId = m.tool_call_id;
    messages.push(msg);
    // Per-message overhead of OpenAI's chat format (role and separators).
    promptTokens += 4;
    for (const p of parts) promptTokens += countTokens(p);
  });
  if (!messages.length) throw errors.invalidValue('messages', "'messages' has no text to send: at least one message needs non-empty content.");
  return {
    intent: { kind: 'chat', model, messages, thinking: model.thinking ? wantsThinking(req, opts.defaultThinking) : false },
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    promptTokens: promptTokens + 3,
    reasoningFormat: opts.reasoningFormat,
  };
}

interface Citation {
  url: string;
  title: string;
}

function usage(plan: ChatPlan, text: string, reasoning: string) {
  const reasoningTokens = countTokens(reasoning);
  const completion = countTokens(text) + reasoningTokens;
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completion,
    total_tokens: plan.promptTokens + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** `url_citation` annotations for the `[[N]](url)` markers the upstream module put into the text. */
function annotations(content: string, citations: Citation[]) {
  const out: { type: 'url_citation'; url_citation: { url: string; title: string; start_index: number; end_index: number } }[] = [];
  for (const c of citations) {
    let from = 0;
    for (;;) {
      const marker = `](${c.url})`;
      const at = content.indexOf(marker, from);
      if (at < 0) break;
      const start = content.lastIndexOf('[[', at);
      const end = at + marker.length;
      out.push({ type: 'url_citation', url_citation: { url: c.url, title: c.title, start_index: Math.max(0, start), end_index: end } });
      from = end;
    }
  }
  return out.sort((a, b) => a.url_citation.start_index - b.url_citation.start_index);
}

function addCitation(list: Citation[], e: { url: string; title?: string }): void {
  if (!list.some((c) => c.url === e.url)) list.push({ url: e.url, title: e.title ?? e.url });
}

/** Folds a whole turn into one `chat.completion` body. */
export async function collectChat(plan: ChatPlan, events: AsyncIterable<UpstreamEvent>) {
  let text = '';
  let reasoning = '';
  const citations: Citation[] = [];
  for await (const e of events) {
    if (e.type === 'text') text += e.text;
    else if (e.type === 'reasoning') reasoning += e.text;
    else if (e.type === 'citation') addCitation(citations, e);
  }
  const visibleReasoning = plan.intent.thinking ? reasoning : '';
  const content = plan.reasoningFormat === 'think_tags' && visibleReasoning ? `<think>\n${visibleReasoning}\n</think>\n${text}` : text;
  const message: Record<string, unknown> = { role: 'assistant', content, refusal: null, annotations: annotations(content, citations) };
  if (plan.reasoningFormat === 'field' && visibleReasoning) message.reasoning_content = visibleReasoning;
  const body: Record<string, unknown> = {
    id: randomId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: plan.intent.model.id,
    choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
    usage: usage(plan, text, reasoning),
  };
  if (citations.length) body.citations = citations.map((c) => c.url);
  return body;
}

/**
 * Maps a turn to `chat.completion.chunk` SSE events: a role chunk, reasoning and content deltas,
 * a finish chunk, the usage chunk when asked for, `[DONE]`. An upstream failure after the first
 * byte becomes a final `data: {"error": …}` event followed by `[DONE]`, so no client hangs.
 */
export async function* streamChat(plan: ChatPlan, events: AsyncIterable<UpstreamEvent>): AsyncGenerator<string> {
  const id = randomId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const model = plan.intent.model.id;
  const withUsage = plan.includeUsage;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => {
    const c: Record<string, unknown> = { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
    if (withUsage) c.usage = null;
    return sseData(c);
  };
  const thinkTags = plan.reasoningFormat === 'think_tags';
  let text = '';
  let reasoning = '';
  let thinkOpen = false;
  const citations: Citation[] = [];
  yield chunk({ role: 'assistant', content: '' });
  try {
    for await (const e of events) {
      if (e.type === 'reasoning') {
        reasoning += e.text;
        if (!plan.intent.thinking || text) continue; // reasoning after the answer started is not streamed
        if (thinkTags) {
          yield chunk({ content: (thinkOpen ? '' : '<think>\n') + e.text });
          thinkOpen = true;
        } else {
          yield chunk({ reasoning_content: e.text });
        }
      } else if (e.type === 'text') {
        if (!e.text) continue;
        const prefix = thinkOpen && !text ? '\n</think>\n' : '';
        text += e.text;
        yield chunk({ content: prefix + e.text });
      } else if (e.type === 'citation') {
        addCitation(citations, e);
      }
    }
  } catch (err) {
    yield sseData(toAppError(err).toBody());
    yield sseData('[DONE]');
    return;
  }
  const ann = annotations(text, citations);
  yield chunk(ann.length ? { annotations: ann } : {}, 'stop');
  if (withUsage) {
    yield sseData({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(plan, text, reasoning) });
  }
  yield sseData('[DONE]');
}
