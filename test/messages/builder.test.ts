import { describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ModelSpec } from '../../src/core/models.js';
import type { MessagesPlan } from '../../src/translators/anthropic-messages-input.js';
import { collectMessage, streamMessage } from '../../src/translators/anthropic-messages-output.js';

const model: ModelSpec = { id: 'grok-4', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'xai', created: 0 };
const plan: MessagesPlan = { intent: { kind: 'chat', model, messages: [{ role: 'user', parts: ['x'] }], thinking: false }, stream: true, inputTokens: 5, attachments: [] };

async function* from(events: UpstreamEvent[]): AsyncGenerator<UpstreamEvent> {
  yield* events;
}

describe('Anthropic message builder (fixture events)', () => {
  it('reports stop_sequence and max_tokens from the done event', async () => {
    const stopped = await collectMessage(plan, from([{ type: 'text', text: 'Hello' }, { type: 'done', reason: 'stop', stopSequence: '\nEND' }]));
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '\nEND', content: [{ type: 'text', text: 'Hello' }] });
    const cut = await collectMessage(plan, from([{ type: 'text', text: 'Hel' }, { type: 'done', reason: 'length' }]));
    expect(cut).toMatchObject({ stop_reason: 'max_tokens', stop_sequence: null });
  });

  it('streams text then tool_use blocks with consecutive indexes', async () => {
    const raw: string[] = [];
    const events: UpstreamEvent[] = [
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', call: { id: 'call_1', name: 'a', arguments: '{"x":1}' } },
      { type: 'tool_call', call: { id: 'call_2', name: 'b', arguments: '{}' } },
      { type: 'done', reason: 'tool_calls' },
    ];
    for await (const s of streamMessage(plan, from(events))) raw.push(s);
    const parsed = raw.map((s) => JSON.parse(s.split('\n')[1]!.slice(6)));
    const starts = parsed.filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => [e.index, e.content_block.type])).toEqual([[0, 'text'], [1, 'tool_use'], [2, 'tool_use']]);
    expect(parsed.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json)).toEqual(['{"x":1}', '{}']);
    expect(parsed.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'tool_use' } });
  });

  it('ends a failed stream with an Anthropic error event', async () => {
    async function* failing(): AsyncGenerator<UpstreamEvent> {
      yield { type: 'text', text: 'partial' };
      throw new Error('boom');
    }
    const raw: string[] = [];
    for await (const s of streamMessage(plan, failing())) raw.push(s);
    expect(raw.at(-1)).toMatch(/^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
  });
});
