import type { ToolChoice, ToolSpec } from '../core/intent.js';

/**
 * The instructions that teach the upstream model our tool-call format (docs/api-contract.md
 * §10.2). The flattener prepends it as a system paragraph when tools
 * are active (`tool_choice` ≠ `none`). The XML is what src/tools/parse.ts reads back and what
 * src/tools/history.ts writes for earlier calls, so the model sees one consistent format.
 */

const EMPTY_PARAMS = { type: 'object', properties: {} };

function whenToCall(choice: ToolChoice): string {
  if (choice === 'required') {
    return 'WHEN TO CALL: You MUST call at least one available tool and must not write a plain-text reply. If you are uncertain, still call the most relevant tool with your best guess at the parameters.';
  }
  if (typeof choice === 'object') {
    return `WHEN TO CALL: You MUST call the tool named "${choice.name}" and must not write a plain-text reply.`;
  }
  if (choice === 'none') return 'WHEN TO CALL: Do NOT call any tools. Respond in plain text only.';
  return 'WHEN TO CALL: Call a tool when it is clearly needed. Otherwise respond in plain text. When a tool result is already in the conversation, use it to answer instead of calling the same tool again.';
}

export function renderToolPrompt(tools: ToolSpec[], choice: ToolChoice): string {
  const blocks = tools.map((t) => {
    const lines = [`Tool: ${t.name}`];
    if (t.description) lines.push(`Description: ${t.description}`);
    lines.push(`Parameters: ${JSON.stringify(t.parameters ?? EMPTY_PARAMS)}`);
    return lines.join('\n');
  });
  return [
    'You have access to the following tools.',
    '',
    'AVAILABLE TOOLS:',
    blocks.join('\n\n'),
    '',
    'TOOL CALL FORMAT - follow these rules exactly:',
    '- When calling a tool, output only the XML block below, with no text before or after it.',
    '- <parameters> must contain one valid JSON object on a single line.',
    '- Put multiple calls inside one <tool_calls> element.',
    '- Do not use Markdown code fences.',
    '',
    '<tool_calls>',
    '  <tool_call>',
    '    <tool_name>TOOL_NAME</tool_name>',
    '    <parameters>{"key":"value"}</parameters>',
    '  </tool_call>',
    '</tool_calls>',
    '',
    whenToCall(choice),
  ].join('\n');
}
