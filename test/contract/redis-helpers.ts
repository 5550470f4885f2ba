import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests share (CI starts one): REDIS_URL or the local default. */
export const TEST_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

/** A prefix nobody else uses, so tests never touch other keys on the shared Redis. */
export function uniquePrefix(label = 't'): string {
  return `g2a-test-${label}-${randomBytes(6).toString('hex')}`;
}

/** Deletes every key of one prefix (SCAN + DEL on `{prefix}:*` only; never FLUSHALL). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Fails loudly (the suite must not silently skip) when the test Redis does not answer. */
export async function assertRedisUp(url = TEST_REDIS_URL): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(`Redis is required for these tests and does not answer at ${url} (${(err as Error).message}); start one (.ci/run does)`);
  } finally {
    r.disconnect();
  }
}
