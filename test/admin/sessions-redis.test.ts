/** Admin sessions and the login throttle are shared by every instance on one Redis (issue 15, items 1 and 2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startRedisPair, type Stack } from '../helpers/stack.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { keysWith, login } from './session-helpers.js';

const prefix = uniquePrefix('sessions');
let one: Stack;
let two: Stack;

beforeAll(async () => {
  await assertRedisUp();
  [one, two] = await startRedisPair(TEST_REDIS_URL, prefix);
});
afterAll(async () => {
  await two?.close();
  await one?.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

describe('admin sessions on two instances sharing Redis', () => {
  it('a session opened on one instance works on the other, and a logout on either ends it on both', async () => {
    const { cookie, status } = await login(one.url, ADMIN_KEY);
    expect(status).toBe(200);
    expect(await keysWith(two.url, cookie)).toBe(200);
    expect((await fetch(`${two.url}/admin/api/logout`, { method: 'POST', headers: { cookie } })).status).toBe(200);
    expect(await keysWith(one.url, cookie)).toBe(401);
    expect(await keysWith(two.url, cookie)).toBe(401);
  });

  it('logout-everywhere on one instance ends the sessions opened on the other', async () => {
    const a = await login(one.url, ADMIN_KEY);
    const b = await login(two.url, ADMIN_KEY);
    const res = await two.admin('POST', '/admin/api/logout-everywhere');
    expect(res.status).toBe(200);
    expect(await keysWith(one.url, a.cookie)).toBe(401);
    expect(await keysWith(two.url, b.cookie)).toBe(401);
  });

  it('counts wrong passwords across instances: spreading guesses over them gains nothing', async () => {
    expect((await login(one.url, 'wrong')).status).toBe(401);
    const t0 = performance.now();
    expect((await login(two.url, 'wrong')).status).toBe(401);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
    // Parallel guesses spread over both instances: at most six fit in the 8 s of booked slots.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => login((i % 2 ? one : two).url, 'wrong')));
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(5);
  }, 20_000);
});
