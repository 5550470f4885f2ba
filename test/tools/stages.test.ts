import { describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ChatIntent } from '../../src/core/intent.js';
import { warmTokenizer } from '../../src/lib/tokenizer.js';
import { applyIntentStages } from '../../src/tools/apply.js';
import { renderToolCalls } from '../../src/tools/history.js';
import { checkJsonOutput, extractJson, jsonSchemaFormat } from '../../src/tools/json-output.js';
import { renderToolPrompt } from '../../src/tools/prompt.js';
import { parseToolMarkup } from '../../src/tools/parse.js';
import { flattenMessages } from '../../src/upstream/grok/flatten.js';

const model = { id: 'grok-4', kind: 'chat' } as ChatIntent['model'];
const intent = (extra: Partial<ChatIntent>): ChatIntent => ({ kind: 'chat', model, messages: [], thinking: false, ...extra });

/** An upstream that records whether its iterator was closed early. */
function upstream(events: UpstreamEvent[]) {
  const state = { closed: false, pulled: 0 };
  async function* gen() {
    try {
      for (const e of events) {
        state.pulled++;
        yield e;
      }
    } finally {
      state.closed = true;
    }
  }
  return { iter: gen(), state };
}
async function all(it: AsyncIterable<UpstreamEvent>) {
  const out: UpstreamEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const texts = (...t: string[]): UpstreamEvent[] => [...t.map((text) => ({ type: 'text' as const, text })), { type: 'done' }];
const joined = (es: UpstreamEvent[]) => es.map((e) => (e.type === 'text' ? e.text : '')).join('');
const last = (es: UpstreamEvent[]) => es.at(-1);

describe('applyIntentStages', () => {
  it('passes a plain turn through untouched', async () => {
    const evs = texts('a', 'b');
    expect(await all(applyIntentStages(upstream(evs).iter, intent({})))).toEqual(evs);
  });

  it('stop: cuts before the first stop sequence, also across fragments, and closes the upstream', async () => {
    const u = upstream(texts('Hello wo', 'rld. STO', 'P here', ' more', ' more'));
    const out = await all(applyIntentStages(u.iter, intent({ limits: { stop: ['STOP', 'zzz'] } })));
    expect(joined(out)).toBe('Hello world. ');
    expect(last(out)).toEqual({ type: 'done', reason: 'stop', stopSequence: 'STOP' });
    expect(u.state.closed).toBe(true);
    expect(u.state.pulled).toBe(3); // nothing read after the cut
    expect(joined(await all(applyIntentStages(upstream(texts('no stop', ' here')).iter, intent({ limits: { stop: ['STOP'] } }))))).toBe('no stop here');
  });

  it('max tokens: cuts at the budget with reason length and closes the upstream', async () => {
    await warmTokenizer();
    const u = upstream(texts('one two three', ' four five six', ' seven eight nine'));
    const out = await all(applyIntentStages(u.iter, intent({ limits: { maxTokens: 5 } })));
    expect(joined(out)).toBe('one two three four five');
    expect(last(out)).toEqual({ type: 'done', reason: 'length' });
    expect(u.state.closed).toBe(true);
  });

  it('tools: text + tool_call events, reason tool_calls; tool_choice none leaves text alone', async () => {
    const markup = '<tool_calls><tool_call><tool_name>f</tool_name><parameters>{"a":1}</parameters></tool_call></tool_calls>';
    const tools = [{ name: 'f' }];
    const out = await all(applyIntentStages(upstream(texts('Sure. ', markup.slice(0, 20), markup.slice(20))).iter, intent({ tools, toolChoice: 'auto' })));
    expect(out.map((e) => e.type)).toEqual(['text', 'tool_call', 'done']);
    expect(last(out)).toEqual({ type: 'done', reason: 'tool_calls' });
    const none = await all(applyIntentStages(upstream(texts(markup)).iter, intent({ tools, toolChoice: 'none' })));
    expect(joined(none)).toBe(markup);
    // A named tool_choice only accepts that name.
    const named = await all(applyIntentStages(upstream(texts(markup)).iter, intent({ tools: [{ name: 'f' }, { name: 'g' }], toolChoice: { name: 'g' } })));
    expect(named.some((e) => e.type === 'tool_call')).toBe(false);
  });

  it('a call cut by max tokens stays text with reason length', async () => {
    await warmTokenizer();
    const markup = '<tool_calls><tool_call><tool_name>f</tool_name><parameters>{"a":"a long value that will be cut"}</parameters></tool_call></tool_calls>';
    const out = await all(applyIntentStages(upstream(texts(markup)).iter, intent({ tools: [{ name: 'f' }], limits: { maxTokens: 20 } })));
    expect(out.some((e) => e.type === 'tool_call')).toBe(false);
    expect(last(out)).toEqual({ type: 'done', reason: 'length' });
  });
});

describe('tool prompt and history', () => {
  it('renders tools and each tool_choice', () => {
    const tools = [{ name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const p = renderToolPrompt(tools, 'auto');
    expect(p).toContain('Tool: get_weather\nDescription: Weather by city\nParameters: {"type":"object","properties":{"city":{"type":"string"}}}');
    expect(p).toContain('<tool_calls>\n  <tool_call>\n    <tool_name>TOOL_NAME</tool_name>');
    expect(p).toContain('Call a tool when it is clearly needed');
    expect(renderToolPrompt(tools, 'required')).toContain('You MUST call at least one available tool');
    expect(renderToolPrompt(tools, { name: 'get_weather' })).toContain('You MUST call the tool named "get_weather"');
    expect(renderToolPrompt([{ name: 'x' }], 'auto')).toContain('Parameters: {"type":"object","properties":{}}');
  });

  it('history XML round-trips through the parser', () => {
    const xml = renderToolCalls([{ id: 'call_1', name: 'get_weather', arguments: '{ "city" : "Paris" }' }]);
    expect(xml).toBe('<tool_calls>\n  <tool_call>\n    <tool_name>get_weather</tool_name>\n    <parameters>{"city":"Paris"}</parameters>\n  </tool_call>\n</tool_calls>');
    expect(parseToolMarkup(xml, new Set(['get_weather']))[0]).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
  });

  it('flattens tool prompt, assistant calls and results (P2 form)', () => {
    const out = flattenMessages(
      [
        { role: 'user', parts: ['Weather in Paris?'] },
        { role: 'assistant', parts: [], toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
        { role: 'tool', parts: ['18C sunny'], toolCallId: 'call_9' },
      ],
      { tools: [{ name: 'get_weather' }], toolChoice: 'auto' },
    );
    const paras = out.split('\n\n');
    expect(paras[0]).toMatch(/^\[system\]: You have access to the following tools\./);
    expect(out).toContain('[user]: Weather in Paris?\n\n[assistant]:\n<tool_calls>\n  <tool_call>\n    <tool_name>get_weather</tool_name>');
    expect(out.endsWith('[tool result for call_9 (get_weather)]:\n18C sunny')).toBe(true);
    expect(flattenMessages([{ role: 'user', parts: ['hi'] }], { tools: [{ name: 'f' }], toolChoice: 'none' })).toBe('[user]: hi');
  });
});

describe('JSON output checks', () => {
  const schema = jsonSchemaFormat('person', { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false }, true, 'p');
  it('extracts JSON from fences and prose', () => {
    expect(extractJson('```json\n{"a":1}\n```')).toBe('{"a":1}');
    expect(extractJson('Here you go: {"a": [1, 2]} — enjoy')).toBe('{"a": [1, 2]}');
    expect(extractJson('no json')).toBeNull();
  });
  it('validates against the schema', () => {
    expect(checkJsonOutput('{"name":"Ada","age":36}', schema)).toEqual({ ok: true, text: '{"name":"Ada","age":36}' });
    const bad = checkJsonOutput('{"name":"Ada"}', schema);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toContain("must have required property 'age'");
    expect(checkJsonOutput('[1]', { type: 'json_object' }).ok).toBe(false);
    expect(() => jsonSchemaFormat('x', { type: 'nonsense' }, true, 'response_format.json_schema.schema')).toThrow(/could not be compiled/);
  });
});
