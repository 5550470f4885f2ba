import type { ChatIntent, NeutralMessage } from '../../core/intent.js';
import { toolsActive } from '../../tools/apply.js';
import { callNames, renderAssistantWithCalls, renderToolResult } from '../../tools/history.js';
import { renderToolPrompt } from '../../tools/prompt.js';

/**
 * grok.com's `conversations/new` takes a single `message` string, so the whole conversation is
 * flattened into it, P2 style (docs/upstream-grok.md §2.2): every text part is its own paragraph
 * `[<role>]: <text>`, tool results are `[tool result for <id>]:\n<text>`, and paragraphs are
 * separated by a blank line. Every message is labelled — the last user message too — so the
 * model sees one consistent transcript. With active client tools the tool prompt comes first as a
 * `[system]` paragraph; assistant tool calls are replayed as the `<tool_calls>` XML (src/tools).
 */
export function flattenMessages(messages: readonly NeutralMessage[], tools?: Pick<ChatIntent, 'tools' | 'toolChoice'>): string {
  const paragraphs: string[] = [];
  if (tools && toolsActive(tools)) {
    paragraphs.push(`[system]: ${renderToolPrompt(tools.tools ?? [], tools.toolChoice ?? 'auto')}`);
  }
  const names = callNames(messages);
  for (const m of messages) {
    if (m.role === 'tool') {
      // One result is one paragraph even when it arrived in several parts.
      const text = m.parts.filter((p) => p.trim()).join('\n');
      if (!text) continue;
      paragraphs.push(renderToolResult(m.toolCallId, text, m.toolCallId ? names.get(m.toolCallId) : undefined));
      continue;
    }
    if (m.role === 'assistant' && m.toolCalls?.length) {
      paragraphs.push(renderAssistantWithCalls(m.parts.filter((p) => p.trim()).join('\n'), m.toolCalls));
      continue;
    }
    for (const part of m.parts) {
      if (part.trim()) paragraphs.push(`[${m.role}]: ${part}`);
    }
  }
  return paragraphs.join('\n\n');
}
