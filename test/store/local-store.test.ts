import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { accountIdFor } from '../../src/lib/account-id.js';
import { addAccounts, leaseReq, makeStore, mustLease, POLICY } from './helpers.js';

describe('LocalStore.importAccounts', () => {
  it('normalises tokens, rejects invalid ones and skips duplicates', async () => {
    const { store, clock } = await makeStore();
    const res = await store.importAccounts([
      { token: '  sso=abc  ' },
      { token: 'a=b; sso=def; sso-rw=zzz; c=d', tier: 'super', tags: ['eu', ' eu ', ''] },
      { token: 'ghi' },
      { token: '' },
      { token: '   ' },
      { token: 'has space' },
      { token: 'x=1; y=2' },
      { token: 'abc' },
      { token: 'sso=ghi' },
    ]);
    expect(res.added.map((a) => a.token)).toEqual(['abc', 'def', 'ghi']);
    expect(res.skipped).toBe(2);
    const again = await store.importAccounts([{ token: 'def' }]);
    expect(again).toEqual({ added: [], skipped: 1 });

    const def = res.added[1]!;
    expect(def.id).toBe(createHash('sha256').update('def').digest('hex').slice(0, 12));
    expect(def.id).toBe(accountIdFor('def'));
    expect(def).toMatchObject({
      tier: 'super',
      status: 'active',
      coolingUntil: null,
      quotas: {},
      tags: ['eu'],
      note: '',
      inFlight: 0,
      useCount: 0,
      failCount: 0,
      consecutiveFailures: 0,
      lastUsedAt: null,
      lastError: null,
      createdAt: clock.now(),
    });
    expect(res.added[0]!.tier).toBe('basic');
    expect((await store.listAccounts()).map((a) => a.token)).toEqual(['abc', 'def', 'ghi']);
  });

  it('returns copies that do not alias store state', async () => {
    const { store } = await makeStore();
    const [id] = await addAccounts(store, ['t1']);
    const copy = (await store.getAccount(id!))!;
    copy.tags.push('x');
    copy.status = 'disabled';
    expect(await store.getAccount(id!)).toMatchObject({ tags: [], status: 'active' });
    expect(await store.getAccount('nope')).toBeNull();
  });
});

describe('LocalStore.lease eligibility', () => {
  it('respects minTier (higher tiers qualify) and reports no_accounts when none could serve', async () => {
    const { store } = await makeStore();
    await addAccounts(store, ['b1'], 'basic');
    expect(await store.lease(leaseReq({ minTier: 'super' }))).toEqual({ ok: false, reason: 'no_accounts', retryAfterMs: null });
    const [heavy] = await addAccounts(store, ['h1'], 'heavy');
    expect((await mustLease(store, leaseReq({ minTier: 'super' }))).accountId).toBe(heavy);
  });

  it('uses tierModes and tries modes in order', async () => {
    const { store } = await makeStore();
    const [basic] = await addAccounts(store, ['b1'], 'basic');
    expect((await store.lease(leaseReq({ modes: ['expert'] }))).ok).toBe(false);
    const [sup] = await addAccounts(store, ['s1'], 'super');
    const req = leaseReq({ modes: ['expert', 'auto'], maxConcurrency: 1 });
    const first = await mustLease(store, req);
    expect(first).toMatchObject({ accountId: sup, mode: 'expert', tier: 'super', token: 's1' });
    // super is at its cap: the next mode in order is tried on the basic account.
    expect(await mustLease(store, req)).toMatchObject({ accountId: basic, mode: 'auto' });
  });

  it('skips disabled and invalid accounts', async () => {
    const { store } = await makeStore();
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    await store.updateAccount(a!, { status: 'disabled' });
    const l = await mustLease(store, leaseReq());
    expect(l.accountId).toBe(b);
    await store.report(l.leaseId, { kind: 'failure', effect: 'invalid', message: 'bad token' }, POLICY);
    expect(await store.lease(leaseReq())).toEqual({ ok: false, reason: 'no_accounts', retryAfterMs: null });
  });

  it('filters by tags and exclude', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1'], 'basic', ['eu']);
    const [b] = await addAccounts(store, ['t2'], 'basic', ['us']);
    expect((await mustLease(store, leaseReq({ tags: ['us', 'asia'] }))).accountId).toBe(b);
    expect(await store.lease(leaseReq({ tags: ['asia'] }))).toMatchObject({ ok: false, reason: 'no_accounts' });
    expect((await mustLease(store, leaseReq({ exclude: [b!] }))).accountId).toBe(a);
    expect(await store.lease(leaseReq({ exclude: [a!, b!] }))).toEqual({
      ok: false,
      reason: 'none_available',
      retryAfterMs: null,
    });
  });

  it('skips a spent quota until its reset, then restores it', async () => {
    const { store, clock } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const resetAt = clock.now() + 5_000;
    await store.setQuotas(a!, { auto: { remaining: 0, total: 20, windowSeconds: 3600, resetAt } });
    expect(await store.lease(leaseReq())).toEqual({ ok: false, reason: 'none_available', retryAfterMs: 5_000 });
    // Another mode without a known quota is still usable.
    expect(await mustLease(store, leaseReq({ modes: ['auto', 'fast'] }))).toMatchObject({ mode: 'fast' });
    clock.advance(5_000);
    expect(await mustLease(store, leaseReq())).toMatchObject({ accountId: a, mode: 'auto' });
    expect((await store.getAccount(a!))!.quotas.auto).toMatchObject({ remaining: 20, total: 20 });
  });

  it('leases a cooling account again once its cooldown has passed', async () => {
    const { store, clock } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, { kind: 'failure', effect: 'cooldown', retryAfterMs: 10_000, message: '429' }, POLICY);
    expect(await store.getAccount(a!)).toMatchObject({ status: 'cooling', coolingUntil: clock.now() + 10_000 });
    clock.advance(4_000);
    expect(await store.lease(leaseReq())).toEqual({ ok: false, reason: 'none_available', retryAfterMs: 6_000 });
    clock.advance(6_000);
    expect((await mustLease(store, leaseReq())).accountId).toBe(a);
    expect(await store.getAccount(a!)).toMatchObject({ status: 'active', coolingUntil: null, inFlight: 1 });
  });

  it('retryAfterMs is the soonest of cooldowns and quota resets', async () => {
    const { store, clock } = await makeStore();
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    await store.setQuotas(a!, { auto: { remaining: 0, total: 5, windowSeconds: 60, resetAt: clock.now() + 30_000 } });
    const l = await mustLease(store, leaseReq());
    expect(l.accountId).toBe(b);
    await store.report(l.leaseId, { kind: 'failure', effect: 'cooldown', retryAfterMs: 8_000, message: '429' }, POLICY);
    expect(await store.lease(leaseReq())).toEqual({ ok: false, reason: 'none_available', retryAfterMs: 8_000 });
  });
});

describe('LocalStore.lease strategies', () => {
  it('max_quota prefers unknown, then most remaining, then fewest in flight', async () => {
    const { store } = await makeStore();
    const [few, many, unknown] = await addAccounts(store, ['t1', 't2', 't3']);
    const q = (remaining: number) => ({ auto: { remaining, total: 50, windowSeconds: 60, resetAt: null } });
    await store.setQuotas(few!, q(5));
    await store.setQuotas(many!, q(10));
    const req = leaseReq({ strategy: 'max_quota', maxConcurrency: 1 });
    expect((await mustLease(store, req)).accountId).toBe(unknown);
    expect((await mustLease(store, req)).accountId).toBe(many);
    expect((await mustLease(store, req)).accountId).toBe(few);

    const { store: s2 } = await makeStore();
    const [x, y] = await addAccounts(s2, ['u1', 'u2']);
    const first = await mustLease(s2, leaseReq());
    expect((await mustLease(s2, leaseReq())).accountId).toBe(first.accountId === x ? y : x);
  });

  it('round_robin cycles through eligible accounts in id order', async () => {
    const { store } = await makeStore();
    const ids = await addAccounts(store, ['t1', 't2', 't3']);
    const sorted = [...ids].sort();
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const l = await mustLease(store, leaseReq({ strategy: 'round_robin' }));
      seen.push(l.accountId);
      await store.report(l.leaseId, { kind: 'success' }, POLICY);
    }
    expect(seen).toEqual([...sorted, ...sorted]);
  });

  it('random uses the injected source', async () => {
    let r = 0;
    const { store } = await makeStore({ random: () => r });
    const ids = await addAccounts(store, ['t1', 't2', 't3']);
    expect((await mustLease(store, leaseReq({ strategy: 'random' }))).accountId).toBe(ids[0]);
    r = 0.999;
    expect((await mustLease(store, leaseReq({ strategy: 'random' }))).accountId).toBe(ids[2]);
  });

  it('least_recently_used picks never-used first, then the oldest use', async () => {
    const { store, clock } = await makeStore();
    const [a, b, c] = await addAccounts(store, ['t1', 't2', 't3']);
    const use = async (id: string) => {
      const l = await mustLease(store, leaseReq({ exclude: [a!, b!, c!].filter((x) => x !== id) }));
      clock.advance(1_000);
      await store.report(l.leaseId, { kind: 'success' }, POLICY);
    };
    await use(b!);
    await use(a!);
    const req = leaseReq({ strategy: 'least_recently_used' });
    expect((await mustLease(store, req)).accountId).toBe(c);
    await use(c!);
    expect((await mustLease(store, req)).accountId).toBe(b);
  });
});

describe('LocalStore.lease concurrency', () => {
  it('never exceeds maxConcurrency under 50 concurrent leases', async () => {
    const { store } = await makeStore();
    await addAccounts(store, Array.from({ length: 10 }, (_, i) => `tok-${i}`));
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.lease(leaseReq({ maxConcurrency: 2, strategy: 'random' }))),
    );
    const perAccount = new Map<string, number>();
    for (const r of results) if (r.ok) perAccount.set(r.lease.accountId, (perAccount.get(r.lease.accountId) ?? 0) + 1);
    expect([...perAccount.values()].every((n) => n <= 2)).toBe(true);
    expect(results.filter((r) => r.ok)).toHaveLength(20);
    for (const r of results.filter((r) => !r.ok)) {
      expect(r).toEqual({ ok: false, reason: 'none_available', retryAfterMs: null });
    }
    expect((await store.listAccounts()).map((a) => a.inFlight)).toEqual(Array(10).fill(2));
  });
});
