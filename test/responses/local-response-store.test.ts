import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalResponseStore } from '../../src/store/local/local-response-store.js';
import type { StoredResponse } from '../../src/store/responses.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function record(id: string, expiresAt: number): StoredResponse {
  return { id, expiresAt, messages: [{ role: 'user', parts: ['hi'] }], response: { id, object: 'response', output: [] } };
}

describe('LocalResponseStore', () => {
  it('puts durably, reads back after a restart, deletes idempotently', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-resp-'));
    dirs.push(dataDir);
    const a = new LocalResponseStore({ dataDir });
    await a.init();
    await a.put(record('resp_abc12345', Date.now() + 60_000));
    await a.close();
    // A new instance (a restart) sees what the old one acknowledged.
    const b = new LocalResponseStore({ dataDir });
    await b.init();
    expect((await b.get('resp_abc12345'))?.messages).toEqual([{ role: 'user', parts: ['hi'] }]);
    expect(await b.delete('resp_abc12345')).toBe(true);
    expect(await b.delete('resp_abc12345')).toBe(false);
    expect(await b.get('resp_abc12345')).toBeNull();
    await b.close();
  });

  it('treats expired records as absent and sweeps them and crash leftovers at start-up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-resp-'));
    dirs.push(dataDir);
    let now = 1_000;
    const s = new LocalResponseStore({ dataDir, now: () => now });
    await s.init();
    await s.put(record('resp_old00001', 2_000));
    await s.put(record('resp_new00001', 9_000));
    now = 3_000;
    expect(await s.get('resp_old00001')).toBeNull();
    await s.put(record('resp_old00002', 2_500));
    writeFileSync(join(dataDir, 'responses', '.resp_x.json.123.abc.tmp'), '{"torn');
    await s.close();
    const again = new LocalResponseStore({ dataDir, now: () => now });
    await again.init();
    expect(readdirSync(join(dataDir, 'responses')).sort()).toEqual(['resp_new00001.json']);
    await again.close();
  });

  it('never turns a hostile id into a path', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-resp-'));
    dirs.push(dataDir);
    const s = new LocalResponseStore({ dataDir });
    await s.init();
    expect(await s.get('../../etc/passwd')).toBeNull();
    expect(await s.delete('resp_../x')).toBe(false);
    await expect(s.put(record('../evil', Date.now() + 1000))).rejects.toThrow(/invalid response id/);
    await s.close();
  });
});
