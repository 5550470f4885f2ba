import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startRedisPair, type Stack } from '../helpers/stack.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';

const prefix = uniquePrefix('stats-e2e');
let one: Stack;
let two: Stack;

beforeAll(async () => {
  await assertRedisUp();
  [one, two] = await startRedisPair(TEST_REDIS_URL, prefix);
  await one.importTokens(['tok-redis-stats-1']);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

const chat = async (stack: Stack, model: string) => {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const body = await res.json();
  expectValid(res.status === 200 ? 'CreateChatCompletionResponse' : 'ErrorResponse', body);
  return res.status;
};

/** The other instance's buffered requests reach Redis within its ~1 s flush; wait for them. */
async function total(stack: Stack): Promise<number> {
  const stats = await (await stack.admin('GET', '/admin/api/stats')).json();
  return stats.summary.total;
}

describe('stats on two instances sharing Redis', () => {
  it('each instance serves the combined figures and request log', async () => {
    expect(await chat(one, 'grok-3')).toBe(200);
    expect(await chat(one, 'grok-3')).toBe(200);
    expect(await chat(two, 'grok-4')).toBe(200);
    expect(await chat(two, 'no-such-model')).toBe(404);
    // A read flushes its own instance's buffer; the other's arrives with its timer's next flush.
    await expect.poll(() => total(one), { interval: 50, timeout: 5000 }).toBe(4);

    for (const stack of [one, two]) {
      const stats = await (await stack.admin('GET', '/admin/api/stats')).json();
      expect(stats.summary).toMatchObject({ total: 4, success: 3, failed: 1 });
      expect(stats.hourly).toHaveLength(24);
      expect(stats.hourly[23].total).toBe(4);
      expect(stats.daily).toHaveLength(7);
      expect(Object.fromEntries(stats.models.map((m: { model: string; total: number }) => [m.model, m.total]))).toMatchObject({ 'grok-3': 2, 'grok-4': 1 });
      expect(stats.accounts[0].total).toBe(3);
      expect(stats.accounts_by_status.active).toBe(1);
      const { logs } = await (await stack.admin('GET', '/admin/api/logs?limit=10')).json();
      expect(logs).toHaveLength(4);
      expect(logs.map((l: { status: number }) => l.status).sort()).toEqual([200, 200, 200, 404]);
      expect(Object.keys(logs[0]).sort()).toEqual(['account_id', 'completion_tokens', 'cost_estimated', 'cost_usd', 'duration_ms', 'key_id', 'key_name', 'method', 'model', 'prompt_tokens', 'route', 'status', 'time', 'tokens']);
      expect(JSON.stringify(logs)).not.toContain(API_KEY);
    }
  });
});
