import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Thought } from '../fake-grok/types.js';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

/**
 * Reasoning reaches the client from every channel grok.com streams it on, for every model, as
 * the request asks (reasoning_effort / thinking / reasoning.effort, else app.thinking) — not by a
 * per-model flag. grok-4 on a basic account and grok-4-mini run in fast mode, which streams
 * notetaker headers too (2026-08/10 observations).
 */
describe.each(TRANSPORTS)('reasoning over %s', (transport) => {
  let stack: Stack;
  const unknownChannel = `CHANNEL_ASSISTANT_EXPERIMENT_${transport.toUpperCase()}_${Date.now()}`;

  // One thought on every channel: notetaker header and summary, the model's thinking, the older
  // REASONING and ANALYSIS names, and a channel this server does not know (inside the thinking phase).
  const thoughts: Thought[] = [
    { text: 'Thinking about your request', kind: 'header' },
    { text: 'Weighing the options', kind: 'thinking' },
    { text: '- Checked two sources', kind: 'summary' },
    { text: ' then the older channel', kind: 'thinking', channel: 'CHANNEL_REASONING' },
    { text: ' and the oldest', kind: 'thinking', channel: 'CHANNEL_ANALYSIS' },
    { text: ' and a new one', kind: 'thinking', channel: unknownChannel },
    { text: 'Writing it up', kind: 'header' },
  ];
  const ALL = ['Thinking about your request', 'Weighing the options', 'Checked two sources', 'then the older channel', 'and the oldest', 'and a new one', 'Writing it up'];

  beforeAll(async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    await stack.importTokens(['rsn-basic']);
    await stack.importTokens(['rsn-super'], { tier: 'super' });
    await stack.importTokens(['rsn-heavy'], { tier: 'heavy' });
    stack.fake.setAccount('rsn-super', { tier: 'super' });
    stack.fake.setAccount('rsn-heavy', { tier: 'heavy' });
    stack.fake.script('every-channel', { kind: 'reasoning', thinking: thoughts, answer: 'Forty-two.', lateSteps: ['Summing up afterwards'] });
    stack.fake.script('agents-please', {
      kind: 'reasoning',
      thinking: [
        { text: 'Planning the team', kind: 'header', rollout: 'Grok' },
        { text: 'I search', kind: 'thinking', rollout: 'Agent 1' },
        { text: 'I verify', kind: 'thinking', rollout: 'Agent 2' },
      ],
      answer: 'Team answer.',
    });
  });
  afterAll(() => stack.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(stack.url + path, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const chat = async (body: Record<string, unknown>) => {
    const res = await post('/v1/chat/completions', body);
    expect(res.status).toBe(200);
    const j = await res.json();
    expectValid('CreateChatCompletionResponse', j);
    return j.choices[0].message as { content: string; reasoning_content?: string };
  };

  it.each([
    ['grok-4', 'auto'],
    ['grok-4-mini', 'fast'],
    ['grok-chat-fast', 'fast'],
    ['grok-4.1-thinking', 'expert'],
    ['grok-chat-heavy', 'heavy'],
  ])('%s (mode %s) shows reasoning from every channel, non-streamed and streamed', async (model, mode) => {
    const msg = await chat({ model, messages: [{ role: 'user', content: 'every-channel' }] });
    expect(msg.content).toBe('Forty-two.');
    for (const part of ALL) expect(msg.reasoning_content).toContain(part);
    // The notetaker's steps that come after response.done are not waited for.
    expect(msg.reasoning_content).not.toContain('Summing up afterwards');
    expect(stack.fake.requests.filter(isChatTurn).at(-1)!.body.modeId).toBe(mode);

    const res = await post('/v1/chat/completions', { model, stream: true, messages: [{ role: 'user', content: 'every-channel' }] });
    const { data } = await readSse(res);
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    const streamed = chunks.map((c) => c.choices[0]?.delta?.reasoning_content ?? '').join('');
    for (const part of ALL) expect(streamed).toContain(part);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Forty-two.');
  });

  it('names each agent of a multi-agent (heavy) turn where grok.com says which (REST rolloutId)', async () => {
    const msg = await chat({ model: 'grok-4-heavy', messages: [{ role: 'user', content: 'agents-please' }] });
    if (transport === 'rest') expect(msg.reasoning_content).toBe('Planning the team\n[Agent 1]\nI search\n[Agent 2]\nI verify');
    else expect(msg.reasoning_content).toBe('Planning the team\nI searchI verify');
  });

  it('hides reasoning when the request says so, for every model alike', async () => {
    for (const body of [{ reasoning_effort: 'none' }, { reasoning_effort: 'minimal' }, { thinking: 'disabled' }, { thinking: { type: 'disabled' } }]) {
      const msg = await chat({ model: 'grok-4', messages: [{ role: 'user', content: 'every-channel' }], ...body });
      expect(msg.content).toBe('Forty-two.');
      expect(msg.reasoning_content ?? '').toBe('');
    }
  });

  it('follows app.thinking when the request does not say, and the request when it does', async () => {
    expect((await stack.admin('PUT', '/admin/api/settings', { app: { thinking: false } })).status).toBe(200);
    try {
      const quiet = await chat({ model: 'grok-4.1-thinking', messages: [{ role: 'user', content: 'every-channel' }] });
      expect(quiet.reasoning_content ?? '').toBe('');
      const asked = await chat({ model: 'grok-4-mini', reasoning_effort: 'high', messages: [{ role: 'user', content: 'every-channel' }] });
      expect(asked.reasoning_content).toContain('Weighing the options');
    } finally {
      await stack.admin('PUT', '/admin/api/settings', { app: { thinking: true } });
    }
  });

  it('gives the Responses API a reasoning item and Anthropic a thinking block for grok-4', async () => {
    const res = await post('/v1/responses', { model: 'grok-4', input: 'every-channel' });
    const body = await res.json();
    expect(body.output[0].type).toBe('reasoning');
    expect(JSON.stringify(body.output[0])).toContain('Weighing the options');
    expect(body.output.at(-1).content[0].text).toBe('Forty-two.');
    const off = await (await post('/v1/responses', { model: 'grok-4', input: 'every-channel', reasoning: { effort: 'none' } })).json();
    expect(off.output.map((o: { type: string }) => o.type)).toEqual(['message']);

    const anthropic = new Anthropic({ baseURL: stack.url, apiKey: API_KEY, maxRetries: 0 });
    const msg = await anthropic.messages.create({ model: 'grok-4', max_tokens: 1024, thinking: { type: 'enabled', budget_tokens: 512 }, messages: [{ role: 'user', content: 'every-channel' }] });
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect((msg.content[0] as { thinking: string }).thinking).toContain('Thinking about your request');
  });

  it('counts a channel it does not know and logs it once at warn', async () => {
    const stats = await (await stack.admin('GET', '/admin/api/stats')).json();
    const key = `mgw_channel:${unknownChannel}`;
    const warned = stack.logs.filter((l) => l.includes(unknownChannel));
    if (transport === 'ws') {
      // Seen on every turn above, reported once.
      expect(stats.upstream_unknown[key]).toBeGreaterThan(5);
      expect(warned).toHaveLength(1);
      expect(JSON.parse(warned[0]!)).toMatchObject({ level: 40, kind: 'mgw_channel', name: unknownChannel });
    } else {
      // REST has no channels: the same thought is a plain thinking token there.
      expect(stats.upstream_unknown[key]).toBeUndefined();
      expect(warned).toHaveLength(0);
    }
  });
});
