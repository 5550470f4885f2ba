import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { startRedisPair, type Stack } from '../helpers/stack.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';

const prefix = uniquePrefix('keys-e2e');
let one: Stack;
let two: Stack;

beforeAll(async () => {
  await assertRedisUp();
  [one, two] = await startRedisPair(TEST_REDIS_URL, prefix);
  await one.importTokens(['tok-redis-keys-1']);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

const chat = (stack: Stack, key: string) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'hello' }] }),
  });

describe('client keys on two instances sharing Redis', () => {
  it('a key created on one instance works on the other, and its rpm counts across both', async () => {
    const res = await one.admin('POST', '/admin/api/keys', { name: 'shared', rpm: 2 });
    const { id, key } = (await res.json()) as { id: string; key: string };
    expect((await chat(two, key)).status).toBe(200);
    expect((await chat(one, key)).status).toBe(200);
    const refused = await chat(two, key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await refused.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('rate_limit_exceeded');

    // Revoked on one instance: refused on the other at once.
    expect((await two.admin('DELETE', `/admin/api/keys/${id}`)).status).toBe(200);
    expect((await chat(one, key)).status).toBe(401);
  });
});
