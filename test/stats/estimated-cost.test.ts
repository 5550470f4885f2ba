import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeXai, type FakeXai, USAGE } from '../fake-xai/server.js';
import { readSse, startStack, type Stack } from '../helpers/stack.js';

/**
 * grok.com reports no token counts: every grok.com turn (chat completions streamed or not, n > 1,
 * Responses, Messages, streamed or not) is priced on the counts the server shows the client in
 * `usage`, and the cost is marked estimated (`cost_estimated` in the request log,
 * `cost_estimated_usd` in the stats). xAI turns are priced on xAI's own counts and are not.
 */
const IN = 2; // USD per million prompt tokens on grok.com
const OUT = 7; // USD per million completion tokens on grok.com
const price = (input: number, output: number) => (input * IN + output * OUT) / 1e6;
const ANSWER = 'The quick brown fox jumps over the lazy dog, twice over and then once more.';

describe('estimated costs of grok.com turns, on every route', () => {
  let stack: Stack;
  let xai: FakeXai;

  type Log = { key_name: string; route: string; cost_usd: number | null; cost_estimated: boolean; status: number };
  type Row = { cost_usd: number; cost_estimated_usd: number; total: number };
  const stats = async () => (await (await stack.admin('GET', '/admin/api/stats')).json()) as { summary: Row; keys: (Row & { key_name: string })[]; accounts: (Row & { account_id: string })[] };
  const logsOf = async (key: string) => ((await (await stack.admin('GET', '/admin/api/logs?limit=200')).json()) as { logs: Log[] }).logs.filter((l) => l.key_name === key);
  let n = 0;
  /** A client key of its own per case, so its log entry and stats row are its alone. */
  const newKey = async (providers = ['grok']) => {
    const name = `est-${++n}`;
    const key = ((await (await stack.admin('POST', '/admin/api/keys', { name, providers })).json()) as { key: string }).key;
    return { name, key };
  };
  const post = (key: string, path: string, body: unknown) =>
    fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
  /** The one log entry of a key, once the onResponse hook recorded it (after a stream's last byte). */
  const entry = async (name: string) => {
    await expect.poll(async () => (await logsOf(name)).length).toBe(1);
    return (await logsOf(name))[0]!;
  };

  beforeAll(async () => {
    xai = await startFakeXai();
    xai.key('xai-est-key-0001', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    const set = await stack.admin('PUT', '/admin/api/settings', {
      prices: [
        { provider: 'grok', model: '*', input_per_mtok: IN, output_per_mtok: OUT },
        { provider: 'xai', model: '*', input_per_mtok: 3, output_per_mtok: 15 },
      ],
    });
    expect(set.status).toBe(200);
    await stack.importTokens(['grok-est-acct']);
    await stack.importTokens(['xai-est-key-0001'], { kind: 'xai' });
    stack.fake.script('est-', { kind: 'plain', answer: ANSWER, chunkSize: 6 });
  });
  afterAll(async () => {
    await stack.close();
    await xai.close();
  });

  it('chat completions, non-stream: priced on the body usage, marked estimated', async () => {
    const k = await newKey();
    const res = await post(k.key, '/v1/chat/completions', { model: 'grok-4', messages: [{ role: 'user', content: 'est- plain' }] });
    const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(usage.completion_tokens).toBeGreaterThan(0);
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo(price(usage.prompt_tokens, usage.completion_tokens), 12);
    expect(e.cost_estimated).toBe(true);
  });

  it('chat completions, stream: priced on the usage chunk\'s counts, with or without include_usage', async () => {
    const k = await newKey();
    const body = { model: 'grok-4', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'est- stream' }] };
    const { data } = await readSse(await post(k.key, '/v1/chat/completions', body));
    const usage = JSON.parse(data.at(-2)!).usage as { prompt_tokens: number; completion_tokens: number };
    expect(usage.completion_tokens).toBeGreaterThan(0);
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo(price(usage.prompt_tokens, usage.completion_tokens), 12);
    expect(e.cost_estimated).toBe(true);

    // The same answer without the usage chunk costs the same: the count is kept either way.
    const k2 = await newKey();
    const plain = await readSse(await post(k2.key, '/v1/chat/completions', { ...body, stream_options: undefined }));
    expect(plain.data.at(-1)).toBe('[DONE]');
    expect((await entry(k2.name)).cost_usd).toBeCloseTo(e.cost_usd!, 12);
  });

  it('chat completions, stream with n = 2: each generation priced (prompt read twice)', async () => {
    const k = await newKey();
    const { data } = await readSse(await post(k.key, '/v1/chat/completions', { model: 'grok-4', n: 2, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'est- two' }] }));
    const usage = JSON.parse(data.at(-2)!).usage as { prompt_tokens: number; completion_tokens: number };
    const e = await entry(k.name);
    // usage counts the prompt once for the request; each generation read it.
    expect(e.cost_usd).toBeCloseTo(price(2 * usage.prompt_tokens, usage.completion_tokens), 12);
    expect(e.cost_estimated).toBe(true);
  });

  it('Responses API, non-stream and stream: priced on response.usage, marked estimated', async () => {
    const client = (key: string) => new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key, maxRetries: 0 });
    const k = await newKey();
    const r = await client(k.key).responses.create({ model: 'grok-4', input: 'est- responses' });
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo(price(r.usage!.input_tokens, r.usage!.output_tokens), 12);
    expect(e.cost_estimated).toBe(true);

    const k2 = await newKey();
    const final = await client(k2.key).responses.stream({ model: 'grok-4', input: 'est- responses stream' }).finalResponse();
    const e2 = await entry(k2.name);
    expect(e2.cost_usd).toBeCloseTo(price(final.usage!.input_tokens, final.usage!.output_tokens), 12);
    expect(e2.cost_estimated).toBe(true);
  });

  it('Responses API with text.format (checked JSON, replayed): priced on the replayed answer', async () => {
    stack.fake.script('est-json', { kind: 'plain', answer: '```json\n{"ok": true}\n```' });
    const k = await newKey();
    const res = await post(k.key, '/v1/responses', { model: 'grok-4', input: 'est-json please', text: { format: { type: 'json_object' } } });
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: { input_tokens: number; output_tokens: number } };
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo(price(usage.input_tokens, usage.output_tokens), 12);
    expect(e.cost_estimated).toBe(true);
  });

  it('Messages API (Anthropic SDK), non-stream and stream: priced on usage, marked estimated', async () => {
    const client = (key: string) => new Anthropic({ baseURL: stack.url, apiKey: key, maxRetries: 0 });
    const k = await newKey();
    const m = await client(k.key).messages.create({ model: 'grok-4', max_tokens: 512, messages: [{ role: 'user', content: 'est- messages' }] });
    expect(m.usage.output_tokens).toBeGreaterThan(0);
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo(price(m.usage.input_tokens, m.usage.output_tokens), 12);
    expect(e.cost_estimated).toBe(true);

    const k2 = await newKey();
    const streamed = await client(k2.key).messages.stream({ model: 'grok-4', max_tokens: 512, messages: [{ role: 'user', content: 'est- messages stream' }] }).finalMessage();
    const e2 = await entry(k2.name);
    expect(e2.cost_usd).toBeCloseTo(price(streamed.usage.input_tokens, streamed.usage.output_tokens), 12);
    expect(e2.cost_estimated).toBe(true);
  });

  it('xAI turns are priced on the provider\'s counts, not estimated; the stats split the estimated part', async () => {
    const k = await newKey(['xai']);
    const { data } = await readSse(await post(k.key, '/v1/chat/completions', { model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(data.at(-1)).toBe('[DONE]');
    const e = await entry(k.name);
    expect(e.cost_usd).toBeCloseTo((USAGE.prompt_tokens * 3 + USAGE.completion_tokens * 15) / 1e6, 12);
    expect(e.cost_estimated).toBe(false);

    const s = await stats();
    const xaiRow = s.keys.find((r) => r.key_name === k.name)!;
    expect(xaiRow.cost_estimated_usd).toBe(0);
    const grokRows = s.keys.filter((r) => r.key_name !== k.name && r.key_name.startsWith('est-'));
    expect(grokRows.length).toBeGreaterThanOrEqual(8);
    for (const r of grokRows) {
      expect(r.cost_usd).toBeGreaterThan(0);
      expect(r.cost_estimated_usd).toBe(r.cost_usd);
    }
    // The summary: all of the cost, and the estimated part of it (micro-USD sums, so exact to 1e-6).
    const grokTotal = grokRows.reduce((a, r) => a + r.cost_usd, 0);
    expect(s.summary.cost_estimated_usd).toBeCloseTo(grokTotal, 6);
    expect(s.summary.cost_usd).toBeCloseTo(grokTotal + xaiRow.cost_usd, 6);
  });
});
