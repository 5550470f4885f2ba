import { afterEach, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

/**
 * Answers grok.com sends with 200 that are not whole: cut before the closing frame (REST: no
 * modelResponse / finalMetadata; mgw: no response.done), empty, or (with retry.require_reasoning)
 * without the reasoning a thinking mode always streams. Before the first byte they move to another
 * account; after it they end the stream in-band; each is counted on the account.
 */
describe.each(TRANSPORTS)('degraded answers over %s', (transport) => {
  let stack: Stack;
  afterEach(() => stack?.close());

  const post = (body: Record<string, unknown>) =>
    fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const accounts = async (): Promise<Record<string, any>> => {
    const { tokens } = await (await stack.admin('GET', '/admin/api/tokens')).json();
    return Object.fromEntries(tokens.map((t: { id: string }) => [t.id, t]));
  };
  const turnsOf = (token: string) => stack.fake.requests.filter((r) => isChatTurn(r) && r.token === token).length;

  it('fails over from a stream cut before its final frame, and reports it as upstream_bad_response when no account is left', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('cut-A', { state: 'truncate' });
    const [a, b] = await stack.importTokens(['cut-A', 'whole-B']);
    // Whichever account the pool picks first, a few requests make it try the cut one.
    for (let i = 0; i < 4; i++) {
      const res = await post({ model: 'grok-4', messages: [{ role: 'user', content: `cut ${i}` }] });
      expect(res.status).toBe(200);
      const body = await res.json();
      expectValid('CreateChatCompletionResponse', body);
      expect(body.choices[0].message.content).toBe(stack.fake.defaultAnswer);
      expect(body.choices[0].finish_reason).toBe('stop');
    }
    expect(turnsOf('cut-A')).toBeGreaterThan(0);
    const byId = await accounts();
    expect(byId[a!].degraded.incomplete).toBe(turnsOf('cut-A'));
    expect(byId[a!].last_error).toMatch(/^upstream_bad_response: .*before it was complete/);
    expect(byId[b!].degraded).toEqual({ incomplete: 0, empty: 0, no_reasoning: 0 });

    await stack.admin('PATCH', `/admin/api/tokens/${b}`, { status: 'disabled' });
    const alone = await post({ model: 'grok-4', messages: [{ role: 'user', content: 'cut alone' }] });
    expect(alone.status).toBe(502);
    const err = await alone.json();
    expectValid('ErrorResponse', err);
    expect(err.error.code).toBe('upstream_bad_response');
  });

  it('ends a stream in-band when it is cut after the first byte went out', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('cut-only', { state: 'truncate' });
    await stack.importTokens(['cut-only']);
    const res = await post({ model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'stream then cut' }] });
    expect(res.status).toBe(200);
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const events = data.slice(0, -1).map((d) => JSON.parse(d));
    const text = events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
    expect(stack.fake.defaultAnswer.startsWith(text) && text.length > 0).toBe(true);
    expect(events.at(-1).error.code).toBe('upstream_bad_response');
    expect(events.some((e) => e.choices?.[0]?.finish_reason === 'stop')).toBe(false);
  });

  it('retries an empty answer on another account before anything reaches the client', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('empty-A', { state: 'empty' });
    const [a] = await stack.importTokens(['empty-A', 'full-B']);
    for (let i = 0; i < 4; i++) {
      const res = await post({ model: 'grok-4', stream: i % 2 === 1, messages: [{ role: 'user', content: `empty ${i}` }] });
      expect(res.status).toBe(200);
      const text = i % 2 === 1
        ? (await readSse(res)).data.slice(0, -1).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '').join('')
        : (await res.json()).choices[0].message.content;
      expect(text).toBe(stack.fake.defaultAnswer);
    }
    expect(turnsOf('empty-A')).toBeGreaterThan(0);
    expect((await accounts())[a!].degraded.empty).toBe(turnsOf('empty-A'));
  });

  it('with retry.require_reasoning, retries a thinking-mode answer that came without reasoning, and counts it', async () => {
    stack = await startStack({ overrides: { ...transportOverrides(transport), retry: { require_reasoning: true } } });
    stack.fake.setAccount('risky-A', { tier: 'super', state: 'degraded' });
    stack.fake.setAccount('fine-B', { tier: 'super' });
    const [a] = await stack.importTokens(['risky-A', 'fine-B'], { tier: 'super' });
    stack.fake.script('think first', { kind: 'reasoning', thinking: ['Thinking about your request', 'working it out'], answer: 'Reasoned.' });
    for (let i = 0; i < 4; i++) {
      const res = await post({ model: 'grok-chat-expert', stream: i % 2 === 1, reasoning_effort: i < 2 ? 'none' : undefined, messages: [{ role: 'user', content: `think first ${i}` }] });
      expect(res.status).toBe(200);
      if (i % 2 === 1) {
        const { data } = await readSse(res);
        expect(data.slice(0, -1).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '').join('')).toBe('Reasoned.');
      } else {
        expect((await res.json()).choices[0].message.content).toBe('Reasoned.');
      }
    }
    expect(turnsOf('risky-A')).toBeGreaterThan(0);
    const risky = (await accounts())[a!];
    expect(risky.degraded.no_reasoning).toBe(turnsOf('risky-A'));
    expect(risky.last_error).toMatch(/^upstream_degraded_answer: .*without any reasoning/);

    // A fast-mode model is not held to it, and without the setting nothing is retried.
    const before = turnsOf('risky-A') + turnsOf('fine-B');
    for (let i = 0; i < 3; i++) expect((await post({ model: 'grok-chat-fast', messages: [{ role: 'user', content: `think first fast ${i}` }] })).status).toBe(200);
    expect(turnsOf('risky-A') + turnsOf('fine-B') - before).toBe(3);
  });

  it('without retry.require_reasoning, serves the degraded answer as it is', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('risky-only', { tier: 'super', state: 'degraded' });
    await stack.importTokens(['risky-only'], { tier: 'super' });
    stack.fake.script('think first', { kind: 'reasoning', thinking: ['Thinking about your request'], answer: 'Plain.' });
    const body = await (await post({ model: 'grok-chat-expert', messages: [{ role: 'user', content: 'think first' }] })).json();
    expect(body.choices[0].message.content).toBe('Plain.');
    expect(body.choices[0].message.reasoning_content ?? '').toBe('');
  });
});
