import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/store/local/local-store.js';
import { addAccounts, leaseReq, makeStore, mustLease, POLICY, tempDir } from './helpers.js';

const readState = (dir: string) => JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));

describe('LocalStore persistence', () => {
  it('creates the data dir and reloads imported accounts in a new instance', async () => {
    const dir = join(tempDir(), 'nested', 'data');
    const { store } = await makeStore({ dataDir: dir });
    const ids = await addAccounts(store, ['t1', 't2', 't3'], 'super', ['eu']);
    await mustLease(store, leaseReq()); // in flight: not persisted

    const again = new LocalStore({ dataDir: dir });
    await again.init();
    const accounts = await again.listAccounts();
    expect(accounts.map((a) => a.id)).toEqual(ids);
    expect(accounts.every((a) => a.inFlight === 0 && a.tier === 'super' && a.tags[0] === 'eu')).toBe(true);
    expect(readState(dir).accounts[0]).not.toHaveProperty('inFlight');
  });

  it('makes operator writes durable before resolving', async () => {
    // A huge debounce proves these writes do not wait for the hot-path timer.
    const { store, dir } = await makeStore({ flushDelayMs: 3_600_000 });
    const [a, b] = await addAccounts(store, ['t1', 't2']);
    expect(readState(dir).accounts).toHaveLength(2);
    await store.updateAccount(a!, { note: 'hello', tags: ['x'], tier: 'heavy' });
    expect(readState(dir).accounts[0]).toMatchObject({ note: 'hello', tags: ['x'], tier: 'heavy' });
    const quota = { auto: { remaining: 3, total: 9, windowSeconds: 60, resetAt: null } };
    await store.setQuotas(a!, quota, 'super');
    expect(readState(dir).accounts[0]).toMatchObject({ quotas: quota, tier: 'super' });
    await store.setMeta('admin_key', 'secret');
    expect(readState(dir).meta).toEqual({ admin_key: 'secret' });
    expect(await store.getMeta('admin_key')).toBe('secret');
    expect(await store.getMeta('missing')).toBeNull();
    await store.deleteAccounts([b!]);
    expect(readState(dir).accounts).toHaveLength(1);
  });

  it('writes hot-path changes after the debounce and on close', async () => {
    const { store, dir } = await makeStore({ flushDelayMs: 3_600_000 });
    const [a] = await addAccounts(store, ['t1']);
    const l = await mustLease(store, leaseReq());
    await store.report(l.leaseId, { kind: 'success' }, POLICY);
    expect(readState(dir).accounts[0].useCount).toBe(0);
    await store.close();
    expect(readState(dir).accounts[0].useCount).toBe(1);

    const again = new LocalStore({ dataDir: dir });
    await again.init();
    expect((await again.getAccount(a!))!.useCount).toBe(1);
  });

  it('refuses a corrupt file with a message naming it, and leaves it alone', async () => {
    const dir = tempDir();
    const file = join(dir, 'store.json');
    for (const content of ['{"version":1,"accounts":[{"id":"x"', '{"version":1,"accounts":[{"id":1}]}', '[]']) {
      writeFileSync(file, content);
      const store = new LocalStore({ dataDir: dir });
      await expect(store.init()).rejects.toThrow(file);
      expect(readFileSync(file, 'utf8')).toBe(content);
    }
  });

  it('leaves no temp files behind', async () => {
    const { store, dir } = await makeStore();
    await addAccounts(store, ['t1']);
    await store.setMeta('k', 'v');
    await store.close();
    expect(readdirSync(dir)).toEqual(['store.json']);
  });

  it('keeps every acknowledged account across kill -9 mid-write', { timeout: 60_000 }, async () => {
    const script = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    for (let run = 0; run < 3; run++) {
      const dir = tempDir();
      const acked = await new Promise<number[]>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
        const batches: number[] = [];
        let out = '';
        let err = '';
        child.stderr.on('data', (d) => (err += d));
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const lines = out.split('\n');
          out = lines.pop()!;
          for (const line of lines) {
            if (line.startsWith('acked ')) batches.push(Number(line.slice(6)));
            if (line === 'ready') child.kill('SIGKILL');
          }
        });
        child.on('exit', (code, signal) =>
          signal === 'SIGKILL' ? resolve(batches) : reject(new Error(`child exited ${code}: ${err}`)),
        );
      });
      expect(acked.length).toBeGreaterThanOrEqual(5);

      const store = new LocalStore({ dataDir: dir });
      await store.init(); // throws if the file were torn
      const tokens = new Set((await store.listAccounts()).map((a) => a.token));
      for (const b of acked) for (let i = 0; i < 20; i++) expect(tokens.has(`crash-${b}-${i}`)).toBe(true);
      expect(readdirSync(dir)).toEqual(['store.json']); // init removed any interrupted temp file
    }
  });
});
