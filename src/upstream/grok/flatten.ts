import type { NeutralMessage } from '../../core/intent.js';

/**
 * grok.com's `conversations/new` takes a single `message` string, so the whole conversation is
 * flattened into it, P2 style (spec/upstream-chat.md §2.5): every text part is its own paragraph
 * `[<role>]: <text>`, tool results are `[tool result for <id>]:\n<text>`, and paragraphs are
 * separated by a blank line. Every message is labelled — the last user message too — so the
 * model sees one consistent transcript.
 */
export function flattenMessages(messages: readonly NeutralMessage[]): string {
  const paragraphs: string[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      // One result is one paragraph even when it arrived in several parts.
      const text = m.parts.filter((p) => p.trim()).join('\n');
      if (!text) continue;
      paragraphs.push(`${m.toolCallId ? `[tool result for ${m.toolCallId}]` : '[tool result]'}:\n${text}`);
      continue;
    }
    for (const part of m.parts) {
      if (part.trim()) paragraphs.push(`[${m.role}]: ${part}`);
    }
  }
  return paragraphs.join('\n\n');
}
