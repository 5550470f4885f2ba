import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { LocalStore } from '../../src/store/local/local-store.js';
import { LocalResponseStore } from '../../src/store/local/local-response-store.js';
import { LocalTaskStore } from '../../src/store/local/local-task-store.js';
import { Stats } from '../../src/stats/stats.js';
import { statsContract } from './stats-contract.js';
import { storeContract } from './store-contract.js';
import { responseContract, taskContract } from './task-contract.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-contract-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

taskContract('local', async () => {
  const s = new LocalTaskStore(tempDir(), 0);
  await s.init();
  onTestFinished(() => s.close());
  return s;
});

responseContract('local', async () => {
  const s = new LocalResponseStore({ dataDir: tempDir() });
  await s.init();
  onTestFinished(() => s.close());
  return s;
});

storeContract('local', async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-contract-'));
  const store = new LocalStore({ dataDir: dir, now: clock.now, flushDelayMs: 0 });
  await store.init();
  onTestFinished(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
});

statsContract('local', async (clock, retention) => {
  const s = new Stats({ dataDir: tempDir(), logSize: retention.maxEntries, retentionDays: retention.retentionDays, usageDays: retention.usageDays, persistMs: 0, now: clock.now });
  await s.init();
  return s;
});
