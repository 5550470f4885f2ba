import { describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import { UpstreamError } from '../../src/errors.js';
import { ResponseMapper } from '../../src/upstream/grok/response-mapper.js';
import { TagStripper } from '../../src/upstream/grok/tag-stripper.js';

const strip = (tokens: string[], replace?: (tag: string, head: string, adjacent: boolean) => string) => {
  const s = new TagStripper(replace);
  return tokens.map((t) => s.push(t)).join('') + s.end();
};

describe('TagStripper', () => {
  it('removes tags inside one token and passes other markup through', () => {
    expect(strip(['a<grok:render card_id="x" type="render_file"><argument>p</argument></grok:render>b'])).toBe('ab');
    expect(strip(['1 < 2 and <b>bold</b> <grok:renderer>'])).toBe('1 < 2 and <b>bold</b> <grok:renderer>');
  });

  it('removes tags split across tokens at every position', () => {
    const text = 'Answer<grok:render card_id="c1" card_type="citation" type="render_inline_citation">x</grok:render> end';
    for (let cut = 1; cut < text.length; cut++) {
      for (let cut2 = cut + 1; cut2 < text.length; cut2 += 7) {
        expect(strip([text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)])).toBe('Answer end');
      }
    }
  });

  it('removes tool usage cards, artifacts (any case) and self-closing tags', () => {
    expect(strip(['a<xai:tool_usage_card><xai:tool_name>web_search</xai:tool_name></xai:tool_usage_card>b'])).toBe('ab');
    expect(strip(['a<xaiArtifact title="t">', 'long ', 'artifact', '</xaiArtifact', '>b'])).toBe('ab');
    expect(strip(['a<grok:render card_id="x" /', '>b'])).toBe('ab');
  });

  it('releases an undecided prefix at the end and drops an unclosed element', () => {
    expect(strip(['ends with <gro'])).toBe('ends with <gro');
    expect(strip(['a<grok:render card_id="x">never closed'])).toBe('a');
  });

  it('passes replacement text and adjacency to the replacer', () => {
    const calls: boolean[] = [];
    const out = strip(['x<grok:render a="1"></grok:render><grok:render a="2"></grok:render> y<grok:render a="3"></grok:render>'], (_t, head, adj) => {
      calls.push(adj);
      return `[${/a="(\d)"/.exec(head)![1]}]`;
    });
    expect(out).toBe('x[1][2] y[3]');
    expect(calls).toEqual([false, true, false]);
  });
});

function run(frames: unknown[]): { events: UpstreamEvent[]; ended: boolean } {
  const m = new ResponseMapper();
  const events: UpstreamEvent[] = [];
  let ended = false;
  for (const f of frames) if ((ended = m.map(f, events))) break;
  m.finish(events);
  return { events, ended };
}
const resp = (r: Record<string, unknown>) => ({ result: { response: r } });

describe('ResponseMapper', () => {
  it('maps a plain answer', () => {
    const { events, ended } = run([
      { result: { conversation: { conversationId: 'conv_1' } } },
      resp({ userResponse: { responseId: 'up_1', message: 'hi', sender: 'human' } }),
      resp({ token: 'Hello', isThinking: false, messageTag: 'final', responseId: 'resp_a' }),
      resp({ token: ' there!', isThinking: false, messageTag: 'final', responseId: 'resp_a' }),
      resp({ modelResponse: { responseId: 'resp_a', message: 'Hello there!', metadata: { llm_info: { modelHash: 'h1' } } } }),
      resp({ finalMetadata: { followUpSuggestions: [] } }),
    ]);
    expect(ended).toBe(true);
    expect(events).toEqual([
      { type: 'meta', conversationId: 'conv_1' },
      { type: 'meta', responseId: 'resp_a' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there!' },
      { type: 'meta', modelHash: 'h1' },
    ]);
  });

  it('maps reasoning and sources, ending at isSoftStop', () => {
    const { events, ended } = run([
      resp({ token: 'thinking ', isThinking: true, messageTag: 'analysis' }),
      resp({ token: 'Thinking about your request', isThinking: true, messageTag: 'header' }),
      resp({ token: '- Checking recent sources', isThinking: true, messageTag: 'summary' }),
      resp({ token: 'hello', isThinking: false, messageTag: 'final', webSearchResults: { results: [{ url: 'https://example.com', title: 'Ex' }] } }),
      resp({ isSoftStop: true }),
      resp({ token: 'after the end', messageTag: 'final' }),
    ]);
    expect(ended).toBe(true);
    expect(events).toEqual([
      { type: 'reasoning', text: 'thinking ' },
      { type: 'reasoning', text: '\nThinking about your request\n' },
      { type: 'reasoning', text: '- Checking recent sources\n' },
      { type: 'citation', url: 'https://example.com', title: 'Ex' },
      { type: 'text', text: 'hello' },
    ]);
  });

  it('turns tool cards into reasoning notes and inline citations into markers', () => {
    const { events } = run([
      resp({
        messageTag: 'tool_usage_card',
        isThinking: true,
        toolUsageCardId: 'search-1',
        toolUsageCard: { toolUsageCardId: 'search-1', webSearch: { args: { query: 'latest news' } } },
        token: '<xai:tool_usage_card><xai:tool_name>web_search</xai:tool_name></xai:tool_usage_card>',
      }),
      resp({ messageTag: 'raw_function_result', isThinking: true, toolUsageCardId: 'search-1', webSearchResults: { results: [{ url: 'https://example.com', title: 'Example' }] } }),
      resp({ cardAttachment: { jsonData: '{"id":"cite_1","url":"https://example.com"}' } }),
      resp({ cardAttachment: { jsonData: '{"id":"cite_2","url":"https://two.example"}' } }),
      resp({ token: 'Answer<grok:render card_id="cite_1" card_type="citation" type="render_inline_citation"></grok:render>', isThinking: false, messageTag: 'final' }),
      resp({ token: '<grok:render card_id="cite_1" card_type="citation" type="render_inline_citation"></grok:render> and <grok:ren', messageTag: 'final' }),
      resp({ token: 'der card_id="cite_2" card_type="citation" type="render_inline_citation"></grok:render>.', messageTag: 'final' }),
    ]);
    expect(events).toEqual([
      { type: 'reasoning', text: '🔍 web_search: latest news\n' },
      { type: 'citation', url: 'https://example.com', title: 'Example' },
      { type: 'text', text: 'Answer [[1]](https://example.com)' },
      { type: 'text', text: ' and ' },
      { type: 'citation', url: 'https://two.example' },
      { type: 'text', text: ' [[2]](https://two.example).' },
    ]);
  });

  it('uses modelResponse.message when the tokens carried no text', () => {
    const { events } = run([resp({ modelResponse: { message: 'Whole answer' } }), resp({ isSoftStop: true })]);
    expect(events).toEqual([{ type: 'text', text: 'Whole answer' }]);
  });

  it('throws classified errors for the in-band shapes', () => {
    const cases: [unknown, string][] = [
      [{ error: { code: 7, message: 'Request rejected by anti-bot rules.', details: [] } }, 'upstream_anti_bot'],
      [{ error: { message: 'rate limited', code: 8 } }, 'upstream_rate_limited'],
      [resp({ error: { message: "You've reached your usage limit. Please try again later." } }), 'upstream_quota_exhausted'],
      [resp({ modelResponse: { streamErrors: [{ message: 'upstream stream failed' }] } }), 'upstream_stream_error'],
    ];
    for (const [frame, code] of cases) {
      let err: unknown;
      try {
        new ResponseMapper().map(frame, []);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UpstreamError);
      expect((err as UpstreamError).code).toBe(code);
    }
  });

  it('ignores frames it does not know', () => {
    expect(run([null, 42, { result: 'x' }, resp({ token: 'x', messageTag: 'header', isThinking: false })]).events).toEqual([]);
  });
});
