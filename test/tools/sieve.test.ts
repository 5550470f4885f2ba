import { describe, expect, it } from 'vitest';
import { parseArguments, parseToolMarkup } from '../../src/tools/parse.js';
import { matchOpener, sieveAll, ToolSieve, type SieveOutput } from '../../src/tools/sieve.js';

const declared = new Set(['get_weather', 'search']);
const block = (name: string, params: string) =>
  `<tool_calls>\n  <tool_call>\n    <tool_name>${name}</tool_name>\n    <parameters>${params}</parameters>\n  </tool_call>\n</tool_calls>`;

/** Feeds `text` cut at the given positions; returns the joined text and the calls. */
function feed(text: string, cuts: number[], names = declared) {
  const s = new ToolSieve(names);
  const out: SieveOutput[] = [];
  let from = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...s.push(text.slice(from, c)));
    from = c;
  }
  out.push(...s.end());
  const text_ = out.filter((o) => o.type === 'text').map((o) => (o as { text: string }).text).join('');
  const calls = out.filter((o) => o.type === 'tool_call').map((o) => (o as { call: { id: string; name: string; arguments: string } }).call);
  return { text: text_, calls, out };
}

describe('tool sieve', () => {
  const answer = `Let me check that.\n${block('get_weather', '{ "city": "Paris" }')}\nTrailing words.`;

  it('never leaks markup, wherever the answer is split (every single cut, and every pair of cuts)', () => {
    for (let i = 0; i <= answer.length; i++) {
      const r = feed(answer, [i]);
      expect(r.text, `cut at ${i}`).toBe('Let me check that.\n');
      expect(r.calls.map((c) => [c.name, c.arguments])).toEqual([['get_weather', '{"city":"Paris"}']]);
    }
    for (let i = 0; i <= answer.length; i += 3) for (let j = i; j <= answer.length; j += 7) expect(feed(answer, [i, j]).text).toBe('Let me check that.\n');
    // One character at a time.
    const r = feed(answer, [...answer].map((_, k) => k));
    expect(r.text).toBe('Let me check that.\n');
    expect(r.calls).toHaveLength(1);
  });

  it('streams text before the call without waiting for the end', () => {
    const s = new ToolSieve(declared);
    expect(s.push('Hello wor')).toEqual([{ type: 'text', text: 'Hello wor' }]);
    expect(s.push('ld <tool_c')).toEqual([{ type: 'text', text: 'ld ' }]); // only the possible tag start is held
    expect(s.push('alls><tool_call><tool_name>search</tool_name><parameters>{"q":"x"}</parameters></tool_call></tool_calls>')[0]!.type).toBe('tool_call');
    expect(s.hasCalls).toBe(true);
  });

  it('releases a held "<" that turns out to be plain text', () => {
    expect(feed('a <b> c < d <tool and <toolbox>', [3, 10, 15])).toMatchObject({ text: 'a <b> c < d <tool and <toolbox>', calls: [] });
    expect(feed('x ``` y ```js\nconst a = 1 < 2;\n```', [5, 12]).text).toBe('x ``` y ```js\nconst a = 1 < 2;\n```');
  });

  it('parses several calls, ids call_<hex>, compact arguments', () => {
    const two = `<tool_calls><tool_call><tool_name>get_weather</tool_name><parameters>{"city": "Paris"}</parameters></tool_call>
<tool_call><tool_name>search</tool_name><parameters>{"q": "news", "n": 3}</parameters></tool_call></tool_calls>`;
    const { calls, text } = feed(two, [17, 80]);
    expect(text).toBe('');
    expect(calls.map((c) => c.name)).toEqual(['get_weather', 'search']);
    expect(calls[1]!.arguments).toBe('{"q":"news","n":3}');
    for (const c of calls) expect(c.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
  });

  it('drops undeclared names; a block with no valid call is released as text', () => {
    const bad = block('rm_rf', '{}');
    expect(feed(`Hi ${bad}`, [5])).toMatchObject({ text: `Hi ${bad}`, calls: [] });
    const mixed = `<tool_calls><tool_call><tool_name>rm_rf</tool_name><parameters>{}</parameters></tool_call><tool_call><tool_name>search</tool_name><parameters>{}</parameters></tool_call></tool_calls>`;
    expect(feed(mixed, []).calls.map((c) => c.name)).toEqual(['search']);
  });

  it('repairs malformed JSON when it can, and treats the block as text when it cannot', () => {
    expect(feed(block('search', '{"q": "line1\nline2",}'), []).calls[0]!.arguments).toBe('{"q":"line1\\nline2"}');
    expect(feed(block('search', '{"q": "x"'), []).calls[0]!.arguments).toBe('{"q":"x"}');
    expect(feed(block('search', '```json\n{"q":"fenced"}\n```'), []).calls[0]!.arguments).toBe('{"q":"fenced"}');
    expect(feed(block('search', ''), []).calls[0]!.arguments).toBe('{}');
    const hopeless = block('search', 'not json at all');
    expect(feed(hopeless, [])).toMatchObject({ text: hopeless, calls: [] });
    expect(parseArguments('[1,2]')).toBeNull();
  });

  it('accepts fenced blocks and the other shapes models drift into', () => {
    expect(feed('Sure.\n```xml\n' + block('search', '{"q":"a"}') + '\n```\n', [9, 12]).text).toBe('Sure.\n');
    expect(sieveAll('<function_call><name>search</name><arguments>{"q":"b"}</arguments></function_call>', declared)[0]).toMatchObject({ type: 'tool_call', call: { name: 'search', arguments: '{"q":"b"}' } });
    expect(sieveAll('<invoke name="search">{"q":"c"}</invoke>', declared)[0]).toMatchObject({ type: 'tool_call', call: { name: 'search' } });
    expect(sieveAll('<tool_call><tool_name>search</tool_name><parameters>{"q":"d"}</parameters></tool_call>', declared)[0]).toMatchObject({ type: 'tool_call' });
    expect(parseToolMarkup('<tool_calls>[{"name":"search","arguments":{"q":"e"}}]</tool_calls>', declared)[0]).toMatchObject({ name: 'search', arguments: '{"q":"e"}' });
    expect(parseToolMarkup('<TOOL_CALLS><TOOL_CALL><TOOL_NAME>search</TOOL_NAME><PARAMETERS>{}</PARAMETERS></TOOL_CALL></TOOL_CALLS>', declared)).toHaveLength(1);
  });

  it('parses an unterminated block at the end, unless the answer was truncated', () => {
    const open = '<tool_calls><tool_call><tool_name>search</tool_name><parameters>{"q":"z"}</parameters>';
    expect(sieveAll(open, declared)[0]!.type).toBe('tool_call');
    const s = new ToolSieve(declared);
    s.push(open);
    expect(s.end(true)).toEqual([{ type: 'text', text: open }]);
  });

  it('drops prose after the calls but still collects a later block', () => {
    const r = feed(`${block('search', '{}')} and then ${block('get_weather', '{"city":"Oslo"}')} bye`, [40]);
    expect(r.text).toBe('');
    expect(r.calls.map((c) => c.name)).toEqual(['search', 'get_weather']);
  });

  it('matchOpener: full, partial, no', () => {
    expect(matchOpener('<tool_calls>', 0).kind).toBe('full');
    expect(matchOpener('<tool_ca', 0).kind).toBe('partial');
    expect(matchOpener('```', 0).kind).toBe('partial');
    expect(matchOpener('<tools>', 0).kind).toBe('no');
    expect(matchOpener('<invoked', 0).kind).toBe('no');
  });
});
