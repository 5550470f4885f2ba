import type { ChatIntent, NeutralMessage, ToolChoice } from '../../core/intent.js';

/**
 * The neutral intent as an xAI (OpenAI-shaped) chat completions body. Client tools, tool choice,
 * structured output and the token limit go as the API's own parameters: the xAI API does them
 * natively, so nothing is folded into the prompt as it is for grok.com.
 */
export function xaiChatBody(intent: ChatIntent, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    // The JSON instruction stands in for response_format on grok.com; here the real one is sent.
    messages: intent.messages.filter((m) => !(m.emulates === 'json_output' && intent.outputFormat)).map(toMessage),
    stream: true,
    // The usage chunk carries the real counts (prompt, completion, reasoning) at the end.
    stream_options: { include_usage: true },
  };
  if (intent.tools?.length) {
    body.tools = intent.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters ?? { type: 'object', properties: {} } } }));
    body.tool_choice = toolChoice(intent.toolChoice ?? 'auto');
    if (intent.parallelToolCalls === false) body.parallel_tool_calls = false;
  }
  const f = intent.outputFormat;
  if (f?.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (f?.type === 'json_schema') {
    body.response_format = { type: 'json_schema', json_schema: { name: f.name, ...(f.description ? { description: f.description } : {}), schema: f.schema, strict: f.strict } };
  }
  if (intent.limits?.maxTokens !== undefined) body.max_tokens = intent.limits.maxTokens;
  if (intent.sampling?.temperature !== undefined) body.temperature = intent.sampling.temperature;
  if (intent.sampling?.topP !== undefined) body.top_p = intent.sampling.topP;
  return body;
}

function toolChoice(c: ToolChoice): unknown {
  return typeof c === 'object' ? { type: 'function', function: { name: c.name } } : c;
}

function toMessage(m: NeutralMessage): Record<string, unknown> {
  const text = m.parts.join('\n\n');
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: text };
  if (m.role === 'assistant') {
    const out: Record<string, unknown> = { role: 'assistant', content: text || null };
    if (m.toolCalls?.length) out.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return out;
  }
  const images = (m.attachments ?? []).filter((a) => a.kind === 'image');
  if (!images.length) return { role: m.role, content: text };
  // Images as data URIs (xAI's vision models take them so); other attachment kinds have no xAI form.
  const content: unknown[] = m.parts.map((p) => ({ type: 'text', text: p }));
  for (const img of images) content.push({ type: 'image_url', image_url: { url: `data:${img.mime};base64,${img.data.toString('base64')}` } });
  return { role: m.role, content };
}
