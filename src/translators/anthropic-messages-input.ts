import { textBlock, toolResultBlock, toolUseBlock, type CountTokensRequest, type MessagesRequest } from '../anthropic/schemas.js';
import type { ChatIntent, NeutralMessage, ToolChoice, ToolSpec } from '../core/intent.js';
import type { ModelSpec } from '../core/models.js';
import { errors } from '../errors.js';
import { countTokens } from '../lib/tokenizer.js';
import type { AttachmentRef, AttachmentSource } from './content-parts.js';
import { checkPart, compactArguments, hasText, promptTokensOf, pushToolCall, unsupported } from './neutral-helpers.js';

/** The parsed Anthropic request. */
export interface MessagesPlan {
  intent: ChatIntent;
  stream: boolean;
  inputTokens: number;
  /** image / document blocks, resolved by the route before the turn. */
  attachments: AttachmentRef[];
}

type Block = { type: string } & Record<string, unknown>;

function blockText(blocks: Block[], param: string): string[] {
  const out: string[] = [];
  blocks.forEach((b, j) => {
    if (b.type === 'text') {
      const t = checkPart(textBlock, b, `${param}.${j}`).text;
      if (hasText(t)) out.push(t);
    } else if (b.type === 'image' || b.type === 'document') {
      throw unsupported(`${param}.${j}.type`, `'${b.type}' blocks are not supported by this server yet; send text blocks only.`);
    } else {
      throw errors.invalidValue(`${param}.${j}.type`, `A '${b.type}' block is not allowed here; use text blocks.`);
    }
  });
  return out;
}

/** An image/document block's source (checked, not fetched yet); a text document is plain text. */
function sourceOf(b: Block, at: string): AttachmentSource | string {
  const src = b.source as Record<string, unknown> | undefined;
  const kind = b.type === 'image' ? 'image' : 'file';
  const name = typeof b.title === 'string' ? b.title : undefined;
  if (!src || typeof src !== 'object') throw errors.missing(`${at}.source`);
  if (src.type === 'base64' && typeof src.data === 'string' && src.data) return { kind, base64: src.data, ...(typeof src.media_type === 'string' ? { mime: src.media_type } : {}), ...(name ? { name } : {}) };
  if (src.type === 'url' && typeof src.url === 'string' && src.url) return { kind, url: src.url, ...(name ? { name } : {}) };
  if (src.type === 'text' && kind === 'file' && typeof src.data === 'string') return src.data;
  throw errors.invalidValue(`${at}.source`, `Unsupported ${b.type} source: use {"type": "base64", "media_type", "data"} or {"type": "url", "url"}${kind === 'file' ? ' or {"type": "text", "data"}' : ''}.`);
}

/** One Anthropic message → neutral messages (tool_result blocks become tool messages). */
function convert(role: 'user' | 'assistant', content: string | Block[], param: string, out: NeutralMessage[], refs: AttachmentRef[] | null): void {
  if (typeof content === 'string') {
    if (hasText(content)) out.push({ role, parts: [content] });
    return;
  }
  let text: NeutralMessage | null = null;
  const flushText = () => {
    if (text?.parts.length || text?.attachments) out.push(text);
    text = null;
  };
  content.forEach((b, j) => {
    const at = `${param}.${j}`;
    if (b.type === 'text' || b.type === 'image' || b.type === 'document') {
      if (!text) text = { role, parts: [] };
      if (b.type === 'text') {
        const t = checkPart(textBlock, b, at).text;
        if (hasText(t)) text.parts.push(t);
        return;
      }
      if (role !== 'user') throw errors.invalidValue(`${at}.type`, `'${b.type}' blocks are only allowed in user messages.`);
      const source = sourceOf(b, at);
      if (typeof source === 'string') text.parts.push(source);
      // count_tokens (refs null) counts text only: attachment bytes are never fetched for it.
      else if (refs) {
        refs.push({ message: text, source, param: `${at}.source` });
        text.attachments ??= [];
      }
    } else if (b.type === 'tool_use' && role === 'assistant') {
      const u = checkPart(toolUseBlock, b, at);
      // Text and calls of one assistant turn stay one message, text first.
      if (text) {
        out.push(text);
        text = null;
      }
      pushToolCall(out, { id: u.id, name: u.name, arguments: compactArguments(u.input ?? {}) });
    } else if (b.type === 'tool_result' && role === 'user') {
      flushText();
      const r = checkPart(toolResultBlock, b, at);
      const parts = r.content === undefined ? [] : typeof r.content === 'string' ? [r.content] : blockText(r.content as Block[], `${at}.content`);
      if (r.is_error) parts.unshift('(the tool reported an error)');
      out.push({ role: 'tool', parts: parts.length ? parts : [''], toolCallId: r.tool_use_id });
    } else if (b.type === 'thinking' || b.type === 'redacted_thinking') {
      // Earlier reasoning is not replayed: the upstream reasons anew each turn.
    } else {
      throw errors.invalidValue(`${at}.type`, `A '${b.type}' block is not allowed in a ${role} message.`);
    }
  });
  flushText();
}

function systemText(system: MessagesRequest['system']): string {
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return blockText(system as Block[], 'system').join('\n');
}

function toolsOf(req: CountTokensRequest): ToolSpec[] {
  const specs: ToolSpec[] = [];
  (req.tools ?? []).forEach((t, i) => {
    // Anthropic's hosted web search is grok.com's own search: accepted, nothing to declare.
    if (t.type && t.type.startsWith('web_search')) return;
    if (t.type && t.type !== 'custom') throw unsupported(`tools.${i}.type`, `Tool type '${t.type}' is not supported; declare client tools with name, description and input_schema.`);
    if (!t.input_schema) throw errors.missing(`tools.${i}.input_schema`);
    specs.push({ name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema });
  });
  return specs;
}

function toolChoiceOf(req: CountTokensRequest): ToolChoice {
  const c = req.tool_choice;
  if (!c || c.type === 'auto') return 'auto';
  if (c.type === 'none') return 'none';
  if (c.type === 'any') return 'required';
  if (!c.name) throw errors.missing('tool_choice.name');
  return { name: c.name };
}

/** Neutral conversation of a request (shared by /messages and /messages/count_tokens). */
export function anthropicConversation(
  req: CountTokensRequest,
  refs: AttachmentRef[] | null = null,
): { messages: NeutralMessage[]; tools: ToolSpec[]; toolChoice: ToolChoice } {
  const messages: NeutralMessage[] = [];
  const system = systemText(req.system);
  if (system) messages.push({ role: 'system', parts: [system] });
  req.messages.forEach((m, i) => convert(m.role, m.content as string | Block[], `messages.${i}.content`, messages, refs));
  if (!messages.some((m) => m.role !== 'system')) throw errors.invalidValue('messages', "'messages' has no content to send: at least one message needs text.");
  return { messages, tools: toolsOf(req), toolChoice: toolChoiceOf(req) };
}

/** Input tokens as count_tokens reports them: the conversation plus the tool declarations. */
export function anthropicInputTokens(messages: NeutralMessage[], tools: ToolSpec[]): number {
  let n = promptTokensOf(messages);
  for (const t of tools) n += countTokens(JSON.stringify(t));
  return n;
}

export function planMessages(req: MessagesRequest, model: ModelSpec, maxMessages: number): MessagesPlan {
  if (model.kind !== 'chat') throw errors.invalidValue('model', `The model \`${model.id}\` is a ${model.kind} model; use a chat model with /v1/messages.`);
  const attachments: AttachmentRef[] = [];
  const { messages, tools, toolChoice } = anthropicConversation(req, attachments);
  if (messages.length > maxMessages) {
    throw errors.invalidValue('messages', `The conversation has ${messages.length} messages; at most ${maxMessages} are allowed (security.max_messages).`);
  }
  // Anthropic's API shows thinking only when asked: no `thinking` field means disabled there.
  const thinking = req.thinking?.type === 'enabled' || req.thinking?.type === 'adaptive';
  const intent: ChatIntent = { kind: 'chat', model, messages, thinking, limits: { maxTokens: req.max_tokens } };
  const stops = (req.stop_sequences ?? []).filter((s) => s.length > 0);
  if (stops.length) intent.limits!.stop = stops;
  if (tools.length) {
    intent.tools = tools;
    intent.toolChoice = toolChoice;
  }
  return { intent, stream: req.stream === true, inputTokens: anthropicInputTokens(messages, tools), attachments };
}
