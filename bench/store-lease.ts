/**
 * Lease + report round trips on each shared store: `npx tsx bench/store-lease.ts` (needs the
 * test databases and Redis the test suite uses). Prints per store the median latency of one
 * lease+report, and leases per second with 32 callers on 20 accounts (cap 4).
 */
import { RedisStore } from '../src/store/redis/redis-store.js';
import { SqlStore } from '../src/store/sql/sql-store.js';
import type { LeaseRequest, Store } from '../src/store/types.js';
import { TEST_REDIS_URL, dropPrefix, uniquePrefix } from '../test/contract/redis-helpers.js';
import { DIALECTS, dropTables, testOptions, uniqueTablePrefix } from '../test/sql/helpers.js';

const req: LeaseRequest = { modes: ['fast'], minTier: 'basic', maxConcurrency: 4, strategy: 'max_quota', tierModes: { basic: ['fast'], super: ['fast'], heavy: ['fast'] } };
const policy = { failThreshold: 0, cooldownMs: 1000 };

async function measure(name: string, store: Store): Promise<void> {
  await store.importAccounts(Array.from({ length: 20 }, (_, i) => ({ token: `bench-${i}` })));
  const one: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    const l = await store.lease(req);
    if (l.ok) await store.report(l.lease.leaseId, { kind: 'success' }, policy);
    one.push(performance.now() - t);
  }
  one.sort((a, b) => a - b);
  let done = 0;
  const until = performance.now() + 3000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        const l = await store.lease(req);
        if (l.ok) {
          await store.report(l.lease.leaseId, { kind: 'success' }, policy);
          done++;
        }
      }
    }),
  );
  console.log(`${name.padEnd(6)} lease+report median ${one[100]!.toFixed(1)} ms, p95 ${one[190]!.toFixed(1)} ms; 32 callers: ${Math.round(done / 3)} lease+report/s`);
}

for (const dialect of DIALECTS) {
  const prefix = uniqueTablePrefix('bench');
  const store = new SqlStore({ ...testOptions(dialect, prefix) });
  await store.init();
  try {
    await measure(dialect, store);
  } finally {
    await store.close();
    await dropTables(dialect, prefix);
  }
}
const prefix = uniquePrefix('bench');
const redis = new RedisStore({ url: TEST_REDIS_URL, prefix });
await redis.init();
try {
  await measure('redis', redis);
} finally {
  await redis.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
}
