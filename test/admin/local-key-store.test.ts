import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEYS_FILE_NAME, LocalKeyStore } from '../../src/store/local/local-key-store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'g2a-keys-'));
  dirs.push(d);
  return d;
};
const base = { name: 'k', hash: 'h1', hint: 'sk…', enabled: true, expiresAt: null, models: null, rpm: null, rpd: null, tags: [], providers: null };

describe('LocalKeyStore', () => {
  it('counts rpm and rpd in sliding windows and reports when the oldest request leaves them', async () => {
    const s = new LocalKeyStore({ dataDir: tmp() });
    await s.init();
    const k = await s.create(base);
    const limits = { rpm: 2, rpd: 3 };
    const t0 = 1_000_000;
    expect(await s.hit(k.id, limits, t0)).toEqual({ ok: true });
    expect(await s.hit(k.id, limits, t0 + 10_000)).toEqual({ ok: true });
    expect(await s.hit(k.id, limits, t0 + 20_000)).toEqual({ ok: false, limit: 'rpm', retryAfterMs: 40_000 });
    // The refused request was not counted; once t0 has left the minute one more passes, the day still counts.
    expect(await s.hit(k.id, limits, t0 + 60_000)).toEqual({ ok: true });
    expect(await s.hit(k.id, limits, t0 + 61_000)).toEqual({ ok: false, limit: 'rpm', retryAfterMs: 9_000 });
    expect(await s.hit(k.id, limits, t0 + 71_000)).toEqual({ ok: false, limit: 'rpd', retryAfterMs: 86_400_000 - 71_000 });
    expect((await s.get(k.id))!.lastUsedAt).toBe(t0 + 60_000);
    await s.close();
  });

  it('persists keys and counters across a restart, and forgets revoked keys at once', async () => {
    const dir = tmp();
    const a = new LocalKeyStore({ dataDir: dir, flushDelayMs: 5 });
    await a.init();
    const k1 = await a.create(base);
    const k2 = await a.create({ ...base, hash: 'h2', name: 'two' });
    await a.hit(k1.id, { rpm: 1, rpd: null });
    expect(await a.revoke(k2.id)).toBe(true);
    expect(await a.findByHash('h2')).toBeNull();
    await a.close();

    const b = new LocalKeyStore({ dataDir: dir });
    await b.init();
    expect((await b.list()).map((k) => k.name)).toEqual(['k']);
    expect((await b.findByHash('h1'))!.id).toBe(k1.id);
    expect((await b.hit(k1.id, { rpm: 1, rpd: null })).ok).toBe(false);
    // Changing a limit starts fresh windows.
    await b.update(k1.id, { rpm: 5 });
    expect((await b.hit(k1.id, { rpm: 5, rpd: null })).ok).toBe(true);
    await b.close();
  });

  it('reads a keys.json written before provider limits as keys with no provider limit', async () => {
    const dir = tmp();
    const { providers: _none, ...old } = base;
    writeFileSync(join(dir, KEYS_FILE_NAME), JSON.stringify({ version: 1, keys: [{ ...old, id: 'key_old', createdAt: 1, lastUsedAt: null }], counters: {} }));
    const s = new LocalKeyStore({ dataDir: dir });
    await s.init();
    expect(await s.get('key_old')).toMatchObject({ name: 'k', providers: null });
    await s.close();
  });
});
