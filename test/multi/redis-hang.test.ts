/**
 * A Redis that hangs (SIGSTOP: connections stay open, nothing is answered) is noticed within
 * 500 ms: requests get 503 store_unavailable at once instead of waiting seconds for a command
 * timeout, /ready says not ready, and everything recovers after SIGCONT (issue 15, item 4).
 * Uses its own redis-server on its own port; the shared one is never paused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { cleanupAll, privateRedis, until, type RedisProc } from './procs.js';

let redis: RedisProc;
let stack: Stack;

beforeAll(async () => {
  redis = await privateRedis();
  stack = await startStack({ overrides: { server: { storage_type: 'redis' }, redis: { url: redis.url, prefix: 'hang' } } });
  await stack.importTokens(['hang-1', 'hang-2']);
}, 30_000);

afterAll(async () => {
  redis?.resume();
  await stack?.close();
  await cleanupAll();
});

const chat = async () => {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'are you there?' }] }),
  });
  return { status: res.status, body: await res.json(), ms: performance.now() - t0 };
};

const ready = async () => {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/ready`);
  return { status: res.status, body: await res.json(), ms: performance.now() - t0 };
};

describe('a hung Redis', () => {
  it('is detected within 500 ms: 503 store_unavailable and /ready 503, then service resumes after SIGCONT', async () => {
    expect((await chat()).status).toBe(200);
    expect((await ready()).status).toBe(200);

    redis.pause();
    const paused = performance.now();
    // Sent the moment Redis stops: it waits on a command that will never be answered.
    const [first, readyNow] = await Promise.all([chat(), ready()]);
    expect(first.status).toBe(503);
    expect(first.body.error.code).toBe('store_unavailable');
    expect(performance.now() - paused).toBeLessThan(500);
    expect(readyNow.status).toBe(503);
    expect(readyNow.body.store).toBe(false);
    expect(readyNow.ms).toBeLessThan(500);
    // Once noticed, every request fails at once.
    const later = await chat();
    expect(later.status).toBe(503);
    expect(later.ms).toBeLessThan(100);
    const adminList = await stack.admin('GET', '/admin/api/tokens');
    expect(adminList.status).toBe(503);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);

    redis.resume();
    const back = await until(async () => (await chat()).status === 200, 5000, 'chat after SIGCONT');
    expect(back).toBe(true);
    expect((await ready()).status).toBe(200);
    // A lease taken by a command Redis ran only after SIGCONT is given back: no slot stays taken.
    await until(async () => {
      const tokens = (await (await stack.admin('GET', '/admin/api/tokens')).json()).tokens as { in_flight: number }[];
      return tokens.every((t) => t.in_flight === 0);
    }, 5000, 'in-flight 0');
  }, 30_000);
});
