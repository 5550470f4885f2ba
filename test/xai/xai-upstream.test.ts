import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';
import { ANSWER, REASONING, TOOL_RESULT_ANSWER, USAGE, startFakeXai, type FakeXai } from '../fake-xai/server.js';

/**
 * The official xAI API as a second upstream, end to end through the real app: keys of kind xai
 * imported through the admin API, chat with native tools and the provider's own usage, errors
 * mapped into the pool, fallback from grok.com accounts, `xai/<model>` pins, merged /v1/models,
 * images. The upstream is the fake in test/fake-xai/.
 */
describe('xAI API upstream', () => {
  let stack: Stack;
  let xai: FakeXai;
  const openai = () => new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  const chatRequests = () => xai.requests.filter((r) => r.path === '/v1/chat/completions');
  const tokens = async () => ((await (await stack.admin('GET', '/admin/api/tokens')).json()) as { tokens: { id: string; kind: string; status: string; cooling_until: string | null; quotas: Record<string, unknown>; token: string }[] }).tokens;

  beforeAll(async () => {
    xai = await startFakeXai();
    xai.key('xai-good-key-0001', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    const res = await stack.admin('POST', '/admin/api/tokens', { kind: 'xai', tokens: 'xai-good-key-0001' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ added: 1, invalid: 0 });
  });
  afterAll(async () => {
    await stack.close();
    await xai.close();
  });

  it('lists the imported key with its kind, masked', async () => {
    const list = await tokens();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'xai', status: 'active', token: 'xai-go…0001' });
  });

  it('non-stream chat: the provider\'s answer, reasoning_content and usage as it reported them', async () => {
    const res = await openai().chat.completions.create({ model: 'xai/grok-4', messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'high' });
    expect(res.model).toBe('xai/grok-4');
    expect(res.choices[0]!.message.content).toBe(ANSWER);
    expect((res.choices[0]!.message as unknown as { reasoning_content: string }).reasoning_content).toBe(REASONING);
    expect(res.usage).toMatchObject({
      prompt_tokens: USAGE.prompt_tokens,
      completion_tokens: USAGE.completion_tokens,
      prompt_tokens_details: { cached_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 11 },
    });
    const sent = chatRequests().at(-1)!;
    expect(sent.key).toBe('xai-good-key-0001');
    expect(sent.body).toMatchObject({ model: 'grok-4', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
  });

  it('streamed chat: the upstream body is read to its end after [DONE], so the keep-alive connection is not cut', async () => {
    // [DONE] first, the end of the chunked body 20 ms later (as a network read may split them).
    xai.script('keep the connection', { content: 'Kept alive.', interTokenDelayMs: 20 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'xai/grok-4', stream: true, messages: [{ role: 'user', content: 'keep the connection' }] }),
    });
    expect(await res.text()).toContain('data: [DONE]');
    const rec = await xai.waitFor((r) => r.closedAt !== null && JSON.stringify(r.body ?? {}).includes('keep the connection'));
    expect(rec.clientAborted).toBe(false);
  });

  it('streamed chat: reasoning and content deltas, then the reported usage chunk', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'xai/grok-4', stream: true, stream_options: { include_usage: true }, thinking: 'enabled', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta: { content?: string; reasoning_content?: string }; finish_reason: string | null }[]; usage?: unknown });
    expect(chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('')).toBe(REASONING);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(ANSWER);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 37, completion_tokens: 19, completion_tokens_details: { reasoning_tokens: 11 } });
  });

  it('native tool calling: tools go as the API parameter, calls come back whole, the loop finishes (openai runTools)', async () => {
    const before = chatRequests().length;
    const runner = openai().chat.completions.runTools({
      model: 'xai/grok-4',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, function: (a: { city: string }) => `18C and sunny in ${a.city}`, parse: JSON.parse },
        },
      ],
    });
    expect(await runner.finalContent()).toBe(TOOL_RESULT_ANSWER);
    const sent = chatRequests().slice(before);
    expect(sent).toHaveLength(2);
    expect(sent[0]!.body).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather' } }], tool_choice: 'auto' });
    // No emulation: the prompt carries no tool instructions.
    expect(JSON.stringify(sent[0]!.body!.messages)).not.toContain('You have access to the following tools');
    expect(sent[1]!.body!.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_xai_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_xai_1', content: '18C and sunny in Paris' },
    ]);
    const calls = (await runner.allChatCompletions())[0]!.choices[0]!.message.tool_calls!;
    expect(calls[0]).toMatchObject({ id: 'call_xai_1', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  });

  it('response_format json_schema is sent natively and the answer still checked', async () => {
    const res = await openai().chat.completions.create({
      model: 'xai/grok-4',
      messages: [{ role: 'user', content: 'the answer?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } },
    });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ answer: '42' });
    expect(chatRequests().at(-1)!.body!.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'a', strict: true } });
  });

  it('/v1/models merges the provider\'s own list as xai/<id>', async () => {
    const models = await openai().models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toContain('grok-4');
    expect(ids).toEqual(expect.arrayContaining(['xai/grok-4', 'xai/grok-3-mini', 'xai/grok-2-image']));
    expect((await openai().models.retrieve('xai/grok-3-mini')).owned_by).toBe('xai');
  });

  it('image generation on an xAI model', async () => {
    const res = await openai().images.generate({ model: 'xai/grok-2-image', prompt: 'a cat', n: 2, response_format: 'b64_json' });
    expect(res.data).toHaveLength(2);
    expect(Buffer.from(res.data![0]!.b64_json!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(xai.requests.at(-1)).toMatchObject({ path: '/v1/images/generations', body: { model: 'grok-2-image', n: 2, response_format: 'b64_json' } });
  });

  it('a catalogue model listing grok and xai falls back to xAI when no grok.com account is eligible', async () => {
    // No grok.com account at all: grok-4 (providers = ["grok", "xai"]) is served by the xAI key.
    const res = await openai().chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.choices[0]!.message.content).toBe(ANSWER);
    expect(chatRequests().at(-1)!.body!.model).toBe('grok-4');
    // With an active grok.com account, grok.com serves it first.
    await stack.importTokens(['grok-fallback-acct']);
    stack.fake.setAccount('grok-fallback-acct', { state: 'valid' });
    const before = chatRequests().length;
    const viaGrok = await openai().chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hi again' }] });
    expect(viaGrok.choices[0]!.message.content).not.toBe(ANSWER);
    expect(chatRequests().length).toBe(before);
    // Once that account is rate-limited by grok.com (cooling), the next request goes to xAI.
    stack.fake.setAccount('grok-fallback-acct', { state: 'limited', retryAfterSec: 120 });
    const after = await openai().chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hi once more' }] });
    expect(after.choices[0]!.message.content).toBe(ANSWER);
    const grok = (await tokens()).find((t) => t.kind === 'grok')!;
    expect(grok.status).toBe('cooling');
  });

  it('errors go into the pool: 401 invalid, 429 cooling by the reset headers, out of credits exhausted; the request moves on', async () => {
    xai.key('xai-dead-key-0002', 'invalid');
    xai.key('xai-busy-key-0003', 'rate_limited');
    xai.key('xai-poor-key-0004', 'no_credits');
    const ids = await stack.importTokens(['xai-dead-key-0002', 'xai-busy-key-0003', 'xai-poor-key-0004'], { kind: 'xai' });
    // Only the three bad keys for a moment: the good one is disabled.
    const good = (await tokens()).find((t) => t.token === 'xai-go…0001')!;
    await stack.admin('PATCH', `/admin/api/tokens/${good.id}`, { status: 'disabled' });
    const failed = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'xai/grok-4', messages: [{ role: 'user', content: 'hi' }] }),
    });
    // Every key failed: the last one's error (502 for the dead key, 429 for the other two).
    expect([429, 502]).toContain(failed.status);
    const byId = new Map((await tokens()).map((t) => [t.id, t]));
    expect(byId.get(ids[0]!)!.status).toBe('invalid');
    const busy = byId.get(ids[1]!)!;
    expect(busy.status).toBe('cooling');
    // x-ratelimit-reset-requests: 7s (the later of the two windows).
    const wait = Date.parse(busy.cooling_until!) - Date.now();
    expect(wait).toBeGreaterThan(4000);
    expect(wait).toBeLessThanOrEqual(7000);
    expect(byId.get(ids[2]!)!.quotas['grok-4']).toMatchObject({ remaining: 0 });
    // The good key back: the same request is served, moving past the cooling and exhausted keys.
    await stack.admin('PATCH', `/admin/api/tokens/${good.id}`, { status: 'active' });
    const ok = await openai().chat.completions.create({ model: 'xai/grok-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(ok.choices[0]!.message.content).toBe(ANSWER);
  });

  it('an unknown xAI model is a 404 from the provider, not a pool failure', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'xai/grok-nope', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });
});
