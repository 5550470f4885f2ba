import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/store/types.js';
import { addAccounts, leaseReq, makeStore, mustLease, POLICY } from './helpers.js';

const fail = (effect: 'none' | 'cooldown' | 'quota-exhausted' | 'invalid', extra: Partial<Outcome> = {}): Outcome =>
  ({ kind: 'failure', effect, message: `failed: ${effect}`, ...extra }) as Outcome;

describe('LocalStore.report', () => {
  it('is idempotent per lease and ignores unknown leases', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, { kind: 'success' }, POLICY);
    await store.report(l.leaseId, { kind: 'success' }, POLICY);
    await store.report(l.leaseId, fail('invalid'), POLICY);
    await store.report('no-such-lease', { kind: 'success' }, POLICY);
    expect(await store.getAccount(a!)).toMatchObject({ useCount: 1, inFlight: 0, status: 'active', failCount: 0 });
  });

  it('success counts the use, resets the streak, keeps lastError and spends known quota', async () => {
    const { store, clock } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const l1 = await mustLease(store, leaseReq());
    await store.report(l1.leaseId, fail('none'), POLICY);
    await store.setQuotas(a!, { auto: { remaining: 1, total: 10, windowSeconds: 120, resetAt: null } });
    clock.advance(500);
    const l2 = await mustLease(store, leaseReq());
    await store.report(l2.leaseId, { kind: 'success' }, POLICY);
    const acc = (await store.getAccount(a!))!;
    expect(acc).toMatchObject({
      useCount: 1,
      failCount: 1,
      consecutiveFailures: 0,
      lastUsedAt: clock.now(),
      lastError: 'failed: none',
      status: 'active',
      inFlight: 0,
    });
    // Spent without a known reset: one is estimated from the window so the mode is not blocked forever.
    expect(acc.quotas.auto).toEqual({ remaining: 0, total: 10, windowSeconds: 120, resetAt: clock.now() + 120_000 });
    expect(await store.lease(leaseReq())).toEqual({ ok: false, reason: 'none_available', retryAfterMs: 120_000 });
    clock.advance(120_000);
    expect((await mustLease(store, leaseReq())).accountId).toBe(a);
  });

  it('aborted only frees the slot', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const before = (await store.getAccount(a!))!;
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, { kind: 'aborted' }, POLICY);
    expect(await store.getAccount(a!)).toEqual(before);
  });

  it('failure none counts, truncates the message and disables at failThreshold', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    for (let i = 1; i <= 3; i++) {
      const l = await mustLease(store, leaseReq());
      await store.report(l.leaseId, { kind: 'failure', effect: 'none', message: 'x'.repeat(500) }, POLICY);
      const acc = (await store.getAccount(a!))!;
      expect(acc.failCount).toBe(i);
      expect(acc.consecutiveFailures).toBe(i);
      expect(acc.lastError).toHaveLength(300);
      expect(acc.status).toBe(i < 3 ? 'active' : 'disabled');
    }
    expect(await store.lease(leaseReq())).toMatchObject({ ok: false, reason: 'no_accounts' });
    // Re-enabling clears the streak.
    expect(await store.updateAccount(a!, { status: 'active' })).toMatchObject({ status: 'active', consecutiveFailures: 0 });
  });

  it('failThreshold 0 never disables; quota/invalid effects do not count towards the streak', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    for (let i = 0; i < 5; i++) {
      const l = await mustLease(store, leaseReq());
      await store.report(l.leaseId, fail('none'), { ...POLICY, failThreshold: 0 });
    }
    expect(await store.getAccount(a!)).toMatchObject({ status: 'active', consecutiveFailures: 5 });
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, fail('quota-exhausted'), POLICY);
    expect((await store.getAccount(a!))!.consecutiveFailures).toBe(5);
  });

  it('invalid marks the account invalid until the operator re-enables it', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, fail('invalid'), POLICY);
    expect(await store.getAccount(a!)).toMatchObject({ status: 'invalid', failCount: 1, consecutiveFailures: 0 });
    expect(await store.lease(leaseReq())).toMatchObject({ ok: false, reason: 'no_accounts' });
    await store.updateAccount(a!, { status: 'active' });
    expect((await mustLease(store, leaseReq())).accountId).toBe(a);
  });

  it('cooldown cools the account (Retry-After or policy) and spends a known quota until then', async () => {
    const { store, clock } = await makeStore();
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    await store.setQuotas(a!, { auto: { remaining: 7, total: 10, windowSeconds: 60, resetAt: null } });
    const la = await mustLease(store, leaseReq({ exclude: [b!] }));
    await store.report(la.leaseId, fail('cooldown'), POLICY);
    const until = clock.now() + POLICY.cooldownMs;
    expect(await store.getAccount(a!)).toMatchObject({
      status: 'cooling',
      coolingUntil: until,
      consecutiveFailures: 1,
      quotas: { auto: { remaining: 0, total: 10, windowSeconds: 60, resetAt: until } },
    });
    const lb = await mustLease(store, leaseReq());
    expect(lb.accountId).toBe(b);
    await store.report(lb.leaseId, fail('cooldown', { retryAfterMs: 2_000 }), POLICY);
    expect(await store.getAccount(b!)).toMatchObject({ status: 'cooling', coolingUntil: clock.now() + 2_000, quotas: {} });
  });

  it('quota-exhausted blocks the mode, and cools the account once every mode of its tier is spent', async () => {
    const { store, clock } = await makeStore();
    const [a] = await addAccounts(store, ['t1']); // basic: fast, auto
    const t0 = clock.now();
    const l1 = await mustLease(store, leaseReq({ modes: ['auto'] }));
    await store.report(l1.leaseId, fail('quota-exhausted'), POLICY);
    expect(await store.getAccount(a!)).toMatchObject({
      status: 'active',
      quotas: { auto: { remaining: 0, total: 0, windowSeconds: 0, resetAt: t0 + POLICY.cooldownMs } },
    });
    const l2 = await mustLease(store, leaseReq({ modes: ['auto', 'fast'] }));
    expect(l2.mode).toBe('fast');
    await store.report(l2.leaseId, fail('quota-exhausted', { retryAfterMs: 5_000 }), POLICY);
    expect(await store.getAccount(a!)).toMatchObject({ status: 'cooling', coolingUntil: t0 + 5_000 });
    expect(await store.lease(leaseReq({ modes: ['auto', 'fast'] }))).toEqual({
      ok: false,
      reason: 'none_available',
      retryAfterMs: 5_000,
    });
    clock.advance(5_000);
    // The fast window of unknown size is forgotten at its reset; auto is still spent.
    expect(await mustLease(store, leaseReq({ modes: ['auto', 'fast'] }))).toMatchObject({ mode: 'fast' });
    expect(await store.getAccount(a!)).toMatchObject({ status: 'active', quotas: { auto: { remaining: 0 } } });
  });

  it('quota-exhausted falls back to a known reset, then to the window length', async () => {
    const { store, clock } = await makeStore();
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    const now = clock.now();
    await store.setQuotas(a!, { auto: { remaining: 3, total: 10, windowSeconds: 600, resetAt: now + 42_000 } });
    await store.setQuotas(b!, { auto: { remaining: 3, total: 10, windowSeconds: 600, resetAt: null } });
    for (const id of [a!, b!]) {
      const l = await mustLease(store, leaseReq({ exclude: [id === a ? b! : a!] }));
      await store.report(l.leaseId, fail('quota-exhausted'), POLICY);
    }
    expect((await store.getAccount(a!))!.quotas.auto!.resetAt).toBe(now + 42_000);
    expect((await store.getAccount(b!))!.quotas.auto!.resetAt).toBe(now + 600_000);
  });

  it('does not turn an operator-disabled account into cooling', async () => {
    const { store } = await makeStore();
    const [a] = await addAccounts(store, ['t1']);
    const l = await mustLease(store, leaseReq());
    await store.updateAccount(a!, { status: 'disabled' });
    await store.report(l.leaseId, fail('cooldown'), POLICY);
    expect(await store.getAccount(a!)).toMatchObject({ status: 'disabled', coolingUntil: null, inFlight: 0 });
  });

  it('drops reports for deleted accounts', async () => {
    const { store } = await makeStore();
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    const l = await mustLease(store, leaseReq({ exclude: [b!] }));
    expect(await store.deleteAccounts([a!, a!, 'nope'])).toBe(1);
    await expect(store.report(l.leaseId, { kind: 'success' }, POLICY)).resolves.toBeUndefined();
    expect((await store.listAccounts()).map((x) => x.id)).toEqual([b]);
  });
});
