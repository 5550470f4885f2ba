import type { ToolCall } from '../core/intent.js';

/**
 * Earlier tool calls and their results as they go back upstream in the flattened transcript
 * (docs/api-contract.md §10.3), so a multi-step agent loop shows the model what it
 * called and what came back, in the same XML its prompt asks for.
 */

/** Markup characters in a name would break the XML; declared names never contain them. */
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Arguments on one line; text that is not JSON is passed as it is (it is what the client sent). */
function compactArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args || '{}'));
  } catch {
    return args;
  }
}

/** The `<tool_calls>` block for an assistant message's calls. */
export function renderToolCalls(calls: readonly ToolCall[]): string {
  const items = calls.map(
    (c) => `  <tool_call>\n    <tool_name>${escapeXml(c.name)}</tool_name>\n    <parameters>${compactArgs(c.arguments)}</parameters>\n  </tool_call>`,
  );
  return `<tool_calls>\n${items.join('\n')}\n</tool_calls>`;
}

/** P2 paragraph for an assistant message: its text (if any), then its calls. */
export function renderAssistantWithCalls(text: string, calls: readonly ToolCall[]): string {
  return text.trim() ? `[assistant]: ${text}\n${renderToolCalls(calls)}` : `[assistant]:\n${renderToolCalls(calls)}`;
}

/** P2 paragraph for one tool result. The tool's name, when known, helps the model match results. */
export function renderToolResult(callId: string | undefined, text: string, name?: string): string {
  const label = callId ? `[tool result for ${callId}${name ? ` (${name})` : ''}]` : name ? `[tool result (${name})]` : '[tool result]';
  return `${label}:\n${text}`;
}

/** call id → tool name over a whole history, to label results. */
export function callNames(messages: readonly { toolCalls?: ToolCall[] }[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) for (const c of m.toolCalls ?? []) names.set(c.id, c.name);
  return names;
}
