import { describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import { newGatewayTurnState, translateEvent } from '../../src/upstream/grok/mgw-events.js';
import { ResponseMapper } from '../../src/upstream/grok/response-mapper.js';
import { unknownFrames } from '../../src/upstream/grok/unknown-frames.js';

/** Feeds gateway events through the translation and the mapper, as the mgw transport does. */
function runGateway(events: Record<string, unknown>[]): { out: UpstreamEvent[]; mapper: ResponseMapper; ended: boolean } {
  const st = newGatewayTurnState();
  const mapper = new ResponseMapper();
  const out: UpstreamEvent[] = [];
  let ended = false;
  for (const e of events) {
    if (ended) break; // the transport stops reading at response.done
    const t = translateEvent(e, st);
    for (const f of t.frames) mapper.map(f, out);
    if (t.end) {
      mapper.finish(out);
      ended = true;
    }
  }
  return { out, mapper, ended };
}

const reasoning = (out: UpstreamEvent[]) => out.map((e) => (e.type === 'reasoning' ? e.text : '')).join('');
const text = (out: UpstreamEvent[]) => out.map((e) => (e.type === 'text' ? e.text : '')).join('');
const chunk = (c: Record<string, unknown>, responseId = 'r-1') => ({ type: 'response.chunk', response_id: responseId, item_id: responseId, chunk: c });

/**
 * The frame sequence of a fast-mode answer as grok.com's gateway sent it in 2026-10 (structure
 * and field names of captured frames; texts and ids are this test's own): the served mode on
 * response.created, a layout chunk, a notetaker step header in phase 0, the thinking and response
 * phase markers, the answer, response.done — then late notetaker steps with an empty response id
 * and the follow-up suggestions.
 */
const CAPTURED_SHAPE = [
  { type: 'conversation.attached', conversation: { id: 'c-1', object: 'realtime.conversation' }, mode: 'new' },
  { type: 'response.created', response: { id: 'r-1', status: 'in_progress', output_modalities: ['text'], x_grok: { created_at: 1, model: 'fast' } } },
  chunk({ metadata: { phase_index: 0 }, ui_layout: { reasoning_ui_layout: 'UNIFIED' } }),
  chunk({ metadata: { step_id: 0, phase_index: 0 }, text: { text: 'Considering the question', channel: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER' } }),
  chunk({ metadata: { step_id: 0, phase_index: 1 }, phase_marker: { kind: 'KIND_THINKING_START', phase_index: 1 } }),
  chunk({ metadata: { step_id: 0, phase_index: 2 }, phase_marker: { kind: 'KIND_RESPONSE_START', phase_index: 2 } }),
  chunk({ metadata: { step_id: 0, phase_index: 2 }, text: { text: '**', channel: 'CHANNEL_ASSISTANT_RESPONSE' } }),
  chunk({ metadata: { step_id: 0, phase_index: 2 }, text: { text: 'Yes', channel: 'CHANNEL_ASSISTANT_RESPONSE' } }),
  chunk({ metadata: { step_id: 0, phase_index: 2 }, text: { text: '**', channel: 'CHANNEL_ASSISTANT_RESPONSE' } }),
  { type: 'response.done', response: { id: 'r-1', status: 'completed', output_modalities: ['text'] } },
  chunk({ metadata: { step_id: 1, phase_index: 1 }, text: { text: 'Settling on one word', channel: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER' } }, ''),
  chunk({ follow_up_suggestions: { suggestions: [{ label: 'More?' }] } }),
];

describe('mgw reasoning channels and phases', () => {
  it('maps the captured 2026-10 frame shape: notetaker header as reasoning, answer as text, nothing unknown', () => {
    const before = unknownFrames.snapshot();
    const { out, ended } = runGateway(CAPTURED_SHAPE);
    expect(ended).toBe(true);
    expect(reasoning(out)).toBe('Considering the question\n');
    expect(text(out)).toBe('**Yes**');
    // Layout, phase markers, response.created and metadata are known parts of the exchange.
    expect(unknownFrames.snapshot()).toEqual(before);
  });

  it('maps every reasoning channel (notetaker header and summary, thinking, reasoning, analysis) and the proto numbers', () => {
    const { out } = runGateway([
      chunk({ text: { text: 'Step one', channel: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER' } }),
      chunk({ phase_marker: { kind: 'KIND_THINKING_START', phase_index: 1 } }),
      chunk({ text: { text: 'weighing ', channel: 'CHANNEL_ASSISTANT_THINKING' } }),
      chunk({ text: { text: 'options', channel: 'CHANNEL_REASONING' } }),
      chunk({ text: { text: '- a summary bullet', channel: 'CHANNEL_ASSISTANT_NOTETAKER_SUMMARY' } }),
      chunk({ text: { text: 'older analysis', channel: 'CHANNEL_ANALYSIS' } }),
      chunk({ text: { text: ' and numbers', channel: 2 } }),
      chunk({ text: { text: 'Step two', channel: 3 } }),
      chunk({ phase_marker: { kind: 'KIND_RESPONSE_START', phase_index: 2 } }),
      chunk({ text: { text: 'Answer', channel: 1 } }),
      { type: 'response.done', response: { id: 'r', status: 'completed' } },
    ]);
    expect(reasoning(out)).toBe('Step one\nweighing options\n- a summary bullet\nolder analysis and numbers\nStep two\n');
    expect(text(out)).toBe('Answer');
  });

  it('keeps text on an unknown channel inside a thinking phase as reasoning, drops it elsewhere, and counts it', () => {
    const name = `CHANNEL_TEST_${Date.now()}`;
    const { out } = runGateway([
      chunk({ text: { text: 'before', channel: name } }),
      chunk({ phase_marker: { kind: 'KIND_THINKING_START', phase_index: 1 } }),
      chunk({ text: { text: 'inside', channel: name } }),
      chunk({ phase_marker: { kind: 'KIND_RESPONSE_START', phase_index: 2 } }),
      chunk({ text: { text: 'after', channel: name } }),
      chunk({ text: { text: 'Done.', channel: 'CHANNEL_ASSISTANT_RESPONSE' } }),
      { type: 'response.done', response: { id: 'r', status: 'completed' } },
    ]);
    expect(reasoning(out)).toBe('inside');
    expect(text(out)).toBe('Done.');
    expect(unknownFrames.snapshot()[`mgw_channel:${name}`]).toBe(3);
  });

  it('counts unknown event types, chunk keys and phase kinds without failing the turn', () => {
    const tag = Date.now();
    const { out, ended } = runGateway([
      { type: `response.novel_${tag}` },
      chunk({ [`novel_key_${tag}`]: {}, text: { text: 'Hi', channel: 'CHANNEL_ASSISTANT_RESPONSE' } }),
      chunk({ phase_marker: { kind: `KIND_NOVEL_${tag}` } }),
      { type: 'response.done', response: { id: 'r', status: 'completed' } },
    ]);
    expect(ended).toBe(true);
    expect(text(out)).toBe('Hi');
    const counts = unknownFrames.snapshot();
    expect(counts[`mgw_event:response.novel_${tag}`]).toBe(1);
    expect(counts[`mgw_chunk:novel_key_${tag}`]).toBe(1);
    expect(counts[`mgw_phase:KIND_NOVEL_${tag}`]).toBe(1);
  });

  it('treats response.error like error', () => {
    expect(() => translateEvent({ type: 'response.error', error: { code: 'rate_limited', message: 'slow down' } })).toThrow(/rate-limited/);
  });
});

describe('REST reasoning: tags, agents, repeats, drift', () => {
  const line = (r: Record<string, unknown>) => ({ result: { response: r } });

  it('names the agent when a multi-agent turn switches rollouts, shows a repeated header once, and marks the closing frame', () => {
    const m = new ResponseMapper();
    const out: UpstreamEvent[] = [];
    m.map(line({ token: 'Thinking about it', isThinking: true, messageTag: 'header', rolloutId: 'Grok' }), out);
    m.map(line({ token: 'Thinking about it', isThinking: true, messageTag: 'header', rolloutId: 'Grok' }), out);
    m.map(line({ token: 'searching the web', isThinking: true, messageTag: 'summary', rolloutId: 'Agent 1' }), out);
    m.map(line({ token: 'checking the maths', isThinking: true, messageTag: 'analysis', rolloutId: 'Agent 2' }), out);
    expect(m.sawFinal).toBe(false);
    m.map(line({ token: 'Done', isThinking: false, messageTag: 'final' }), out);
    m.map(line({ modelResponse: { message: 'Done' } }), out);
    expect(m.sawFinal).toBe(true);
    expect(reasoning(out)).toBe('Thinking about it\n[Agent 1]\nsearching the web\n[Agent 2]\nchecking the maths');
    expect([m.textSeen, m.reasoningSeen]).toEqual([true, true]);
  });

  it('counts unknown message tags, card types and frame kinds', () => {
    const tag = Date.now();
    const m = new ResponseMapper();
    const out: UpstreamEvent[] = [];
    m.map(line({ token: 'x', messageTag: `tag_${tag}` }), out);
    m.map(line({ cardAttachment: { jsonData: JSON.stringify({ id: 'k', cardType: `card_${tag}` }) } }), out);
    m.map({ [`frame_${tag}`]: {} }, out);
    const counts = unknownFrames.snapshot();
    expect(counts[`rest_tag:tag_${tag}`]).toBe(1);
    expect(counts[`card:card_${tag}`]).toBe(1);
    expect(counts[`rest_frame:frame_${tag}`]).toBe(1);
    expect(out).toEqual([]);
  });
});
