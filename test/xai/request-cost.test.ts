import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, startStack, type Stack } from '../helpers/stack.js';
import { USAGE, startFakeXai, type FakeXai } from '../fake-xai/server.js';

/**
 * Cost per request from the price table, end to end: xAI at 3 / 15 USD per million prompt /
 * completion tokens for grok-4, grok.com at 1 / 2 for every model. The admin stats sum the costs
 * per key and per credential; the request log shows each request's.
 */
describe('cost per request from [[prices]]', () => {
  let stack: Stack;
  let xai: FakeXai;
  let xaiAccount: string;
  let grokAccount: string;
  const XAI_COST = (USAGE.prompt_tokens * 3 + USAGE.completion_tokens * 15) / 1e6;

  const post = (key: string, path: string, body: unknown) =>
    fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const createKey = async (name: string, providers: string[]) => ((await (await stack.admin('POST', '/admin/api/keys', { name, providers })).json()) as { key: string }).key;
  type Row = { cost_usd: number; total: number };
  const stats = async () => (await (await stack.admin('GET', '/admin/api/stats')).json()) as { summary: Row; keys: (Row & { key_name: string })[]; accounts: (Row & { account_id: string })[]; models: (Row & { model: string })[] };

  beforeAll(async () => {
    xai = await startFakeXai();
    xai.key('xai-cost-key-0001', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    // The price table is a runtime setting (also a [[prices]] array in DATA_DIR/config.toml).
    const set = await stack.admin('PUT', '/admin/api/settings', {
      prices: [
        { provider: 'xai', model: 'grok-4', input_per_mtok: 3, output_per_mtok: 15 },
        { provider: 'grok', model: '*', input_per_mtok: 1, output_per_mtok: 2 },
      ],
    });
    expect(set.status).toBe(200);
    [xaiAccount] = await stack.importTokens(['xai-cost-key-0001'], { kind: 'xai' });
    [grokAccount] = await stack.importTokens(['grok-cost-acct']);
    stack.fake.setAccount('grok-cost-acct', { state: 'valid' });
  });
  afterAll(async () => {
    await stack.close();
    await xai.close();
  });

  it('prices each request on the provider that served it and sums per key and per credential', async () => {
    const xaiKey = await createKey('cost-xai', ['xai']);
    const grokKey = await createKey('cost-grok', ['grok']);
    const chat = { model: 'grok-4', messages: [{ role: 'user', content: 'hi' }] };

    // xAI: non-stream, streamed, the pinned name (same xAI model, same price) and the Responses API.
    expect((await post(xaiKey, '/v1/chat/completions', chat)).status).toBe(200);
    const streamed = await post(xaiKey, '/v1/chat/completions', { ...chat, stream: true });
    expect((await readSse(streamed)).data.at(-1)).toBe('[DONE]');
    expect((await post(xaiKey, '/v1/chat/completions', { ...chat, model: 'xai/grok-4' })).status).toBe(200);
    const resp = await post(xaiKey, '/v1/responses', { model: 'grok-4', input: 'hi' });
    expect(resp.status).toBe(200);

    // grok.com, non-stream: priced on the usage the answer reports (estimated counts).
    const viaGrok = await post(grokKey, '/v1/chat/completions', chat);
    expect(viaGrok.status).toBe(200);
    const { usage } = (await viaGrok.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const grokCost = (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6;
    expect(grokCost).toBeGreaterThan(0);

    // The onResponse hook records after the last byte; give the stream's a moment.
    await expect.poll(async () => (await stats()).summary.total).toBeGreaterThanOrEqual(5);
    const s = await stats();
    expect(s.keys.find((k) => k.key_name === 'cost-xai')!.cost_usd).toBeCloseTo(4 * XAI_COST, 9);
    expect(s.keys.find((k) => k.key_name === 'cost-grok')!.cost_usd).toBeCloseTo(grokCost, 9);
    expect(s.accounts.find((a) => a.account_id === xaiAccount)!.cost_usd).toBeCloseTo(4 * XAI_COST, 9);
    expect(s.accounts.find((a) => a.account_id === grokAccount)!.cost_usd).toBeCloseTo(grokCost, 9);
    expect(s.summary.cost_usd).toBeCloseTo(4 * XAI_COST + grokCost, 9);

    const { logs } = (await (await stack.admin('GET', '/admin/api/logs?limit=5')).json()) as { logs: { key_name: string; cost_usd: number | null }[] };
    expect(logs.filter((l) => l.key_name === 'cost-xai').map((l) => l.cost_usd)).toEqual(Array(4).fill(XAI_COST));

    // The per-key usage history: the provider's own prompt and completion counts, the same cost.
    const usageOf = async (name: string) =>
      ((await (await stack.admin('GET', '/admin/api/usage/keys')).json()) as { keys: { key_name: string; requests: number; prompt_tokens: number; completion_tokens: number; cost_usd: number; cost_estimated_usd: number }[] }).keys.find((k) => k.key_name === name)!;
    const xaiUsage = await usageOf('cost-xai');
    expect(xaiUsage).toMatchObject({ requests: 4, prompt_tokens: 4 * USAGE.prompt_tokens, completion_tokens: 4 * USAGE.completion_tokens, cost_estimated_usd: 0 });
    expect(xaiUsage.cost_usd).toBeCloseTo(4 * XAI_COST, 9);
    const grokUsage = await usageOf('cost-grok');
    expect(grokUsage).toMatchObject({ requests: 1, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
    expect(grokUsage.cost_estimated_usd).toBeCloseTo(grokCost, 9);
  });

  it('counts no cost for a model without a price line; a changed table applies to the next request', async () => {
    const key = await createKey('cost-unpriced', ['xai']);
    expect((await post(key, '/v1/chat/completions', { model: 'xai/grok-3-mini', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    await expect.poll(async () => (await stats()).keys.find((k) => k.key_name === 'cost-unpriced')?.total).toBe(1);
    expect((await stats()).keys.find((k) => k.key_name === 'cost-unpriced')!.cost_usd).toBe(0);

    const bad = await stack.admin('PUT', '/admin/api/settings', { prices: [{ provider: 'openai', model: '*', input_per_mtok: 1, output_per_mtok: 1 }] });
    expect(bad.status).toBe(400);
    const ok = await stack.admin('PUT', '/admin/api/settings', { prices: [{ provider: 'xai', model: '*', input_per_mtok: 1, output_per_mtok: 1 }] });
    expect(ok.status).toBe(200);
    expect((await post(key, '/v1/chat/completions', { model: 'xai/grok-3-mini', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    const expected = (USAGE.prompt_tokens + USAGE.completion_tokens) / 1e6;
    await expect.poll(async () => (await stats()).keys.find((k) => k.key_name === 'cost-unpriced')!.cost_usd).toBeCloseTo(expected, 9);
  });
});
