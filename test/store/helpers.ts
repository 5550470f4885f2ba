import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { LocalStore, type LocalStoreOptions } from '../../src/store/local/local-store.js';
import type { Tier } from '../../src/core/models.js';
import type { LeaseRequest, PoolPolicy } from '../../src/store/types.js';

export const TIER_MODES: Record<Tier, string[]> = {
  basic: ['fast', 'auto'],
  super: ['fast', 'auto', 'expert'],
  heavy: ['fast', 'auto', 'expert', 'heavy'],
};

export const POLICY: PoolPolicy = { failThreshold: 3, cooldownMs: 60_000 };

/** A fresh temp dir, removed when the current test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-store-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A manual clock. */
export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

export function leaseReq(over: Partial<LeaseRequest> = {}): LeaseRequest {
  return { modes: ['auto'], minTier: 'basic', maxConcurrency: 4, strategy: 'max_quota', tierModes: TIER_MODES, ...over };
}

/** An initialised store on a fresh dir with a manual clock; closed when the test ends. */
export async function makeStore(opts: Partial<LocalStoreOptions> = {}) {
  const dir = opts.dataDir ?? tempDir();
  const clock = manualClock();
  const store = new LocalStore({ dataDir: dir, now: clock.now, flushDelayMs: 0, ...opts });
  await store.init();
  onTestFinished(() => store.close());
  return { store, dir, clock };
}

/** Imports `tokens` and returns their ids in the same order. */
export async function addAccounts(store: LocalStore, tokens: string[], tier: Tier = 'basic', tags?: string[]) {
  const { added } = await store.importAccounts(tokens.map((token) => ({ token, tier, tags })));
  return added.map((a) => a.id);
}

/** Leases and asserts success. */
export async function mustLease(store: LocalStore, req: LeaseRequest) {
  const r = await store.lease(req);
  if (!r.ok) throw new Error(`lease failed: ${r.reason}`);
  return r.lease;
}
