/**
 * The store contract, run against every store (local.test.ts, redis.test.ts): the same cases must
 * pass on both, which is how the Redis Lua scripts are held to the rules of the local store.
 */
import { describe, expect, it } from 'vitest';
import type { Tier } from '../../src/core/models.js';
import type { LeaseRequest, PoolPolicy, Store } from '../../src/store/types.js';

export interface Clock {
  now: () => number;
  advance: (ms: number) => void;
}

export interface StoreHandle {
  store: Store;
  clock: Clock;
}

/** Creates a fresh, empty, initialised store using the given clock; cleanup is the factory's business. */
export type StoreFactory = (clock: Clock) => Promise<Store>;

export const TIER_MODES: Record<Tier, string[]> = { basic: ['fast'], super: ['fast', 'auto', 'expert'], heavy: ['fast', 'auto', 'expert', 'heavy'] };
const POLICY: PoolPolicy = { failThreshold: 3, cooldownMs: 60_000 };

export function manualClock(start = 1_700_000_000_000): Clock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const req = (over: Partial<LeaseRequest> = {}): LeaseRequest => ({
  modes: ['fast'],
  minTier: 'basic',
  maxConcurrency: 4,
  strategy: 'max_quota',
  tierModes: TIER_MODES,
  ...over,
});

export function storeContract(name: string, factory: StoreFactory): void {
  const open = async (): Promise<StoreHandle> => {
    const clock = manualClock();
    return { store: await factory(clock), clock };
  };
  const add = async (store: Store, tokens: string[], tier: Tier = 'basic', tags?: string[]) =>
    (await store.importAccounts(tokens.map((token) => ({ token, tier, tags })))).added.map((a) => a.id);
  const mustLease = async (store: Store, r: LeaseRequest) => {
    const res = await store.lease(r);
    if (!res.ok) throw new Error(`lease failed: ${res.reason}`);
    return res.lease;
  };

  describe(`store contract: ${name}`, () => {
    it('imports, normalises, skips duplicates and lists in import order', async () => {
      const { store } = await open();
      const res = await store.importAccounts([{ token: 'sso=c-tok' }, { token: 'a=b; sso=a-tok; c=d', tier: 'super', tags: ['eu', ' eu ', ''] }, { token: 'has space' }, { token: 'c-tok' }]);
      expect(res.added.map((a) => a.token)).toEqual(['c-tok', 'a-tok']);
      expect(res.skipped).toBe(1);
      const list = await store.listAccounts();
      expect(list.map((a) => a.token)).toEqual(['c-tok', 'a-tok']);
      expect(list[1]).toMatchObject({ tier: 'super', status: 'active', coolingUntil: null, quotas: {}, tags: ['eu'], inFlight: 0, lastUsedAt: null });
      expect(list[0]!.tags).toEqual([]);
      expect(await store.getAccount(list[0]!.id)).toEqual(list[0]);
      expect(await store.getAccount('nope')).toBeNull();
    });

    it('updates, tags, disables, re-enables and deletes accounts', async () => {
      const { store } = await open();
      const [id] = await add(store, ['upd-1']);
      expect(await store.updateAccount(id!, { status: 'disabled', tags: ['x', 'x', 'y'], note: 'n', tier: 'heavy' })).toMatchObject({ status: 'disabled', tags: ['x', 'y'], note: 'n', tier: 'heavy' });
      expect((await store.updateAccount(id!, { tags: [] }))!.tags).toEqual([]);
      expect(await store.lease(req())).toEqual({ ok: false, reason: 'no_accounts', retryAfterMs: null });
      await store.updateAccount(id!, { status: 'active' });
      expect((await store.lease(req())).ok).toBe(true);
      expect(await store.updateAccount('missing', { note: 'x' })).toBeNull();
      expect(await store.deleteAccounts([id!, id!, 'missing'])).toBe(1);
      expect(await store.listAccounts()).toEqual([]);
    });

    it('never exceeds the per-account cap under 50 concurrent leases', async () => {
      const { store } = await open();
      const ids = await add(store, ['cap-1', 'cap-2', 'cap-3', 'cap-4', 'cap-5']);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.lease(req({ maxConcurrency: 4 }))));
      const granted = results.filter((r) => r.ok);
      expect(granted).toHaveLength(20);
      const per = new Map<string, number>();
      for (const r of granted) if (r.ok) per.set(r.lease.accountId, (per.get(r.lease.accountId) ?? 0) + 1);
      expect([...per.values()].every((n) => n === 4)).toBe(true);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'none_available' && r.retryAfterMs === null)).toBe(true);
      for (const id of ids) expect((await store.getAccount(id))!.inFlight).toBe(4);
      await Promise.all(granted.map((r) => (r.ok ? store.report(r.lease.leaseId, { kind: 'aborted' }, POLICY) : null)));
      for (const id of ids) expect((await store.getAccount(id))!.inFlight).toBe(0);
    });

    it('reports are idempotent per lease', async () => {
      const { store } = await open();
      const [id] = await add(store, ['idem-1']);
      const lease = await mustLease(store, req());
      await Promise.all([1, 2, 3].map(() => store.report(lease.leaseId, { kind: 'success' }, POLICY)));
      await store.report(lease.leaseId, { kind: 'failure', effect: 'invalid', message: 'late' }, POLICY);
      const acc = (await store.getAccount(id!))!;
      expect(acc).toMatchObject({ inFlight: 0, useCount: 1, status: 'active', failCount: 0 });
      await store.report('never-leased', { kind: 'success' }, POLICY);
    });

    it('max_quota prefers the most quota left, unknown quota counting as plenty', async () => {
      const { store } = await open();
      const [a, b, c] = await add(store, ['mq-a', 'mq-b', 'mq-c']);
      await store.setQuotas(a!, { fast: { remaining: 5, total: 30, windowSeconds: 86400, resetAt: null } });
      await store.setQuotas(b!, { fast: { remaining: 9, total: 30, windowSeconds: 86400, resetAt: null } });
      expect((await mustLease(store, req())).accountId).toBe(c);
      await store.setQuotas(c!, { fast: { remaining: 0, total: 30, windowSeconds: 86400, resetAt: null } });
      expect((await mustLease(store, req())).accountId).toBe(b);
    });

    it('round_robin cycles in id order and least_recently_used prefers the idle account', async () => {
      const { store, clock } = await open();
      const ids = (await add(store, ['rr-1', 'rr-2', 'rr-3'])).sort();
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const l = await mustLease(store, req({ strategy: 'round_robin' }));
        seen.push(l.accountId);
        await store.report(l.leaseId, { kind: 'success' }, POLICY);
        clock.advance(1000);
      }
      expect(seen).toEqual([ids[0], ids[1], ids[2], ids[0]]);
      const lru = await mustLease(store, req({ strategy: 'least_recently_used' }));
      expect(lru.accountId).toBe(ids[1]);
      const random = await mustLease(store, req({ strategy: 'random' }));
      expect(ids).toContain(random.accountId);
    });

    it('filters by tier, tags, exclusions and the tier mode table', async () => {
      const { store } = await open();
      const [basic, sup] = await add(store, ['t-basic', 't-super'], 'basic');
      await store.updateAccount(sup!, { tier: 'super', tags: ['vip'] });
      expect((await mustLease(store, req({ minTier: 'super' }))).accountId).toBe(sup);
      expect((await mustLease(store, req({ tags: ['vip'] }))).accountId).toBe(sup);
      expect((await mustLease(store, req({ modes: ['expert'] }))).accountId).toBe(sup);
      expect(await store.lease(req({ tags: ['none'] }))).toMatchObject({ ok: false, reason: 'no_accounts' });
      const l = await mustLease(store, req({ exclude: [sup!] }));
      expect(l.accountId).toBe(basic);
      expect(await store.lease(req({ minTier: 'heavy' }))).toMatchObject({ ok: false, reason: 'no_accounts' });
    });

    it('cools an account on 429 honouring Retry-After, then returns it to service', async () => {
      const { store, clock } = await open();
      const [id] = await add(store, ['cool-1']);
      const l = await mustLease(store, req());
      await store.report(l.leaseId, { kind: 'failure', effect: 'cooldown', retryAfterMs: 5000, message: 'upstream_rate_limited' }, POLICY);
      expect(await store.getAccount(id!)).toMatchObject({ status: 'cooling', coolingUntil: clock.now() + 5000, consecutiveFailures: 1, lastError: 'upstream_rate_limited' });
      expect(await store.lease(req())).toEqual({ ok: false, reason: 'none_available', retryAfterMs: 5000 });
      clock.advance(5000);
      expect((await mustLease(store, req())).accountId).toBe(id);
    });

    it('uses the quota window when a mode is exhausted, and spends quota on success', async () => {
      const { store, clock } = await open();
      const [id] = await add(store, ['qe-1']);
      await store.setQuotas(id!, { fast: { remaining: 2, total: 30, windowSeconds: 100, resetAt: null } });
      let l = await mustLease(store, req());
      await store.report(l.leaseId, { kind: 'success' }, POLICY);
      expect((await store.getAccount(id!))!.quotas.fast).toEqual({ remaining: 1, total: 30, windowSeconds: 100, resetAt: null });
      l = await mustLease(store, req());
      await store.report(l.leaseId, { kind: 'failure', effect: 'quota-exhausted', message: 'usage limit' }, POLICY);
      const acc = (await store.getAccount(id!))!;
      expect(acc.quotas.fast).toEqual({ remaining: 0, total: 30, windowSeconds: 100, resetAt: clock.now() + 100_000 });
      expect(acc).toMatchObject({ status: 'cooling', coolingUntil: clock.now() + 100_000, consecutiveFailures: 0 });
      clock.advance(100_000);
      expect((await mustLease(store, req())).accountId).toBe(id);
      expect((await store.getAccount(id!))!.quotas.fast!.remaining).toBe(30);
    });

    it('marks invalid on auth failures and disables after fail_threshold failures', async () => {
      const { store } = await open();
      const [bad, flaky] = await add(store, ['inv-1', 'flaky-1']);
      const l = await mustLease(store, req({ exclude: [flaky!] }));
      await store.report(l.leaseId, { kind: 'failure', effect: 'invalid', message: 'upstream_auth_failed' }, POLICY);
      expect((await store.getAccount(bad!))!.status).toBe('invalid');
      for (let i = 0; i < 3; i++) {
        const f = await mustLease(store, req());
        expect(f.accountId).toBe(flaky);
        await store.report(f.leaseId, { kind: 'failure', effect: 'none', message: 'x'.repeat(400) }, POLICY);
      }
      const acc = (await store.getAccount(flaky!))!;
      expect(acc).toMatchObject({ status: 'disabled', failCount: 3, consecutiveFailures: 3 });
      expect(acc.lastError).toHaveLength(300);
      expect(await store.lease(req())).toEqual({ ok: false, reason: 'no_accounts', retryAfterMs: null });
      await store.markInvalid(flaky!, 'upstream_auth_failed: rate-limits 401');
      expect(await store.getAccount(flaky!)).toMatchObject({ status: 'invalid', lastError: 'upstream_auth_failed: rate-limits 401' });
    });

    it('counts degraded answers per kind on the account', async () => {
      const { store } = await open();
      const [id] = await add(store, ['deg-1']);
      expect((await store.getAccount(id!))!.degraded).toEqual({});
      for (const quality of ['incomplete', 'no_reasoning'] as const) {
        const l = await mustLease(store, req());
        await store.report(l.leaseId, { kind: 'failure', effect: 'none', message: `degraded: ${quality}`, quality }, POLICY);
      }
      const l = await mustLease(store, req());
      await store.report(l.leaseId, { kind: 'failure', effect: 'none', message: 'plain failure' }, POLICY);
      expect(await store.getAccount(id!)).toMatchObject({ degraded: { incomplete: 1, no_reasoning: 1 }, failCount: 3, lastError: 'plain failure' });
      expect((await store.listAccounts()).find((a) => a.id === id)!.degraded).toEqual({ incomplete: 1, no_reasoning: 1 });
    });

    it('records when the last failure happened, on reports and on markInvalid', async () => {
      const { store, clock } = await open();
      const [id] = await add(store, ['lea-1']);
      expect((await store.getAccount(id!))!.lastErrorAt ?? null).toBeNull();
      const l = await mustLease(store, req());
      await store.report(l.leaseId, { kind: 'failure', effect: 'none', message: 'upstream_bad_response' }, POLICY);
      expect(await store.getAccount(id!)).toMatchObject({ lastError: 'upstream_bad_response', lastErrorAt: clock.now() });
      const first = clock.now();
      clock.advance(7_000);
      const ok = await mustLease(store, req());
      await store.report(ok.leaseId, { kind: 'success' }, POLICY);
      // A success keeps the last failure as it was.
      expect(await store.getAccount(id!)).toMatchObject({ lastError: 'upstream_bad_response', lastErrorAt: first });
      clock.advance(1_000);
      await store.markInvalid(id!, 'upstream_auth_failed: 401');
      expect(await store.getAccount(id!)).toMatchObject({ status: 'invalid', lastError: 'upstream_auth_failed: 401', lastErrorAt: first + 8_000 });
      expect((await store.listAccounts())[0]).toMatchObject({ lastErrorAt: first + 8_000 });
    });

    it('deletes accounts by status in one step: invalid, disabled, cooling (still cooling), exhausted', async () => {
      const { store, clock } = await open();
      const [act, inv, dis, cool, passed, spent, partly] = await add(store, ['bs-act', 'bs-inv', 'bs-dis', 'bs-cool', 'bs-passed', 'bs-spent', 'bs-partly'], 'super');
      await store.markInvalid(inv!, 'dead');
      await store.updateAccount(dis!, { status: 'disabled' });
      const leaseOf = async (id: string) => mustLease(store, req({ exclude: [act, inv, dis, cool, passed, spent, partly].filter((x) => x !== id) as string[] }));
      let l = await leaseOf(cool!);
      await store.report(l.leaseId, { kind: 'failure', effect: 'cooldown', retryAfterMs: 60_000, message: 'rate limited' }, POLICY);
      l = await leaseOf(passed!);
      await store.report(l.leaseId, { kind: 'failure', effect: 'cooldown', retryAfterMs: 1_000, message: 'rate limited' }, POLICY);
      await store.setQuotas(spent!, { fast: { remaining: 0, total: 30, windowSeconds: 7200, resetAt: clock.now() + 3_600_000 }, auto: { remaining: 0, total: 5, windowSeconds: 7200, resetAt: null } });
      await store.setQuotas(partly!, { fast: { remaining: 0, total: 30, windowSeconds: 7200, resetAt: clock.now() + 3_600_000 }, auto: { remaining: 3, total: 5, windowSeconds: 7200, resetAt: null } });
      clock.advance(2_000);

      expect(await store.deleteAccountsByStatus([])).toEqual([]);
      expect((await store.deleteAccountsByStatus(['invalid'])).sort()).toEqual([inv]);
      // `passed` cooled for 1 s only: at the call it is active again, so it is not "cooling".
      expect((await store.deleteAccountsByStatus(['cooling', 'disabled'])).sort()).toEqual([cool!, dis!].sort());
      expect(await store.deleteAccountsByStatus(['exhausted'])).toEqual([spent]);
      expect(await store.deleteAccountsByStatus(['invalid', 'cooling', 'exhausted'])).toEqual([]);
      expect((await store.listAccounts()).map((a) => a.id)).toEqual([act, passed, partly]);
      // A spent window whose reset has come is full again: no longer exhausted.
      await store.setQuotas(partly!, { fast: { remaining: 0, total: 30, windowSeconds: 7200, resetAt: clock.now() + 1_000 } });
      clock.advance(1_000);
      expect(await store.deleteAccountsByStatus(['exhausted'])).toEqual([]);
      expect(await store.getAccount(partly!)).not.toBeNull();
    });

    it('setQuotas replaces windows and may change the tier', async () => {
      const { store } = await open();
      const [id] = await add(store, ['sq-1']);
      await store.setQuotas(id!, { fast: { remaining: 140, total: 140, windowSeconds: 7200, resetAt: null }, auto: { remaining: 50, total: 50, windowSeconds: 7200, resetAt: null } }, 'super');
      expect(await store.getAccount(id!)).toMatchObject({ tier: 'super', quotas: { fast: { remaining: 140 }, auto: { total: 50 } } });
      await store.setQuotas(id!, {});
      expect((await store.getAccount(id!))!.quotas).toEqual({});
      await store.setQuotas('missing', {});
    });

    it('withLock is exclusive, released after use, and expires', async () => {
      const { store, clock } = await open();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = store.withLock('job', 200, () => held.then(() => 'first'));
      const others = await Promise.all(Array.from({ length: 10 }, () => store.withLock('job', 200, async () => 'other')));
      expect(others.every((r) => !r.ok)).toBe(true);
      expect((await store.withLock('another', 200, async () => 1)).ok).toBe(true);
      release();
      expect(await first).toEqual({ ok: true, value: 'first' });
      expect(await store.withLock('job', 200, async () => 'again')).toEqual({ ok: true, value: 'again' });
      // An abandoned lock (holder hung) is free again after its TTL.
      void store.withLock('stuck', 100, () => new Promise(() => {}));
      expect((await store.withLock('stuck', 100, async () => 1)).ok).toBe(false);
      const deadline = Date.now() + 3000;
      let got = false;
      while (!got && Date.now() < deadline) {
        clock.advance(50);
        got = (await store.withLock('stuck', 100, async () => 1)).ok;
        if (!got) await new Promise((r) => setTimeout(r, 20));
      }
      expect(got).toBe(true);
    });

    it('keeps meta values', async () => {
      const { store } = await open();
      expect(await store.getMeta('k')).toBeNull();
      await store.setMeta('k', 'v1');
      await store.setMeta('k', 'v2');
      expect(await store.getMeta('k')).toBe('v2');
      expect(await store.ping()).toBe(true);
    });
  });
}
