/**
 * The slot queue in one process (local storage): waiters are served in arrival order within the
 * window, newcomers queue behind them, and an aborted waiter leaves without taking a slot.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { ModelSpec } from '../../src/core/models.js';
import { AppError } from '../../src/errors.js';
import { AccountPool } from '../../src/pool/pool.js';
import { MemoryQueueBackend } from '../../src/pool/queue/backend.js';
import { SlotQueue, WINDOW } from '../../src/pool/queue/slot-queue.js';
import { LocalStore } from '../../src/store/local/local-store.js';

const model: ModelSpec = { id: 'm', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'x', created: 0 };
const log = pino({ level: 'silent' });
let config: Config;
let queue: SlotQueue;
let pool: AccountPool;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-queue-'));
  config = loadConfig({ env: { DATA_DIR: dir } });
  config.token.max_concurrency_per_account = 1;
  config.token.queue_timeout_sec = 5;
  const store = new LocalStore({ dataDir: dir });
  await store.init();
  await store.importAccounts([{ token: 'queue-unit-a' }]);
  queue = new SlotQueue(new MemoryQueueBackend(), log);
  await queue.init();
  pool = new AccountPool(store, () => config, log, queue);
});

afterEach(() => queue.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request: holds its slot for `holdMs`, then releases; resolves with when it got the slot. */
async function request(order: number[], n: number, holdMs: number, signal = new AbortController().signal): Promise<void> {
  const got = await pool.acquire(model, signal, async () => n);
  order.push(got.value);
  await sleep(holdMs);
  await got.release({ kind: 'success' });
}

describe('slot queue', () => {
  it('serves waiters in arrival order (within the window) and newcomers after them', async () => {
    const order: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      all.push(request(order, i, 5));
      await sleep(2); // distinct arrival order
    }
    await Promise.all(all);
    expect(order).toHaveLength(30);
    expect(order[0]).toBe(0);
    // Nobody is served before someone who arrived WINDOW or more places earlier.
    for (let k = 0; k < order.length; k++) {
      const before = order.slice(0, k);
      for (let earlier = 0; earlier < order[k]! - WINDOW + 1; earlier++) expect(before).toContain(earlier);
    }
    expect(await queue.depth()).toBe(0);
  });

  it('drops an aborted waiter and times out the rest with 429 and a Retry-After', async () => {
    config.token.queue_timeout_sec = 0.3;
    const order: number[] = [];
    const holder = request(order, 0, 800);
    await sleep(10);
    const ctl = new AbortController();
    const leaving = request(order, 1, 0, ctl.signal).catch((e: unknown) => e);
    const timingOut = request(order, 2, 0).catch((e: unknown) => e);
    await sleep(20);
    expect(await queue.depth()).toBe(2);
    ctl.abort();
    expect(await leaving).not.toBeInstanceOf(AppError);
    await sleep(10);
    expect(await queue.depth()).toBe(1);
    const err = (await timingOut) as AppError;
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('no_available_tokens');
    expect(err.retryAfterSec).toBeGreaterThanOrEqual(1);
    await holder;
    expect(order).toEqual([0]);
    expect(await queue.depth()).toBe(0);
  });

  it('refuses at once beyond queue_max, and at once with queue_timeout_sec = 0', async () => {
    config.token.queue_max = 1;
    const order: number[] = [];
    const holder = request(order, 0, 300);
    await sleep(10);
    const waiter = request(order, 1, 0);
    await sleep(10);
    const t0 = Date.now();
    await expect(request(order, 2, 0)).rejects.toMatchObject({ code: 'no_available_tokens' });
    expect(Date.now() - t0).toBeLessThan(100);
    config.token.queue_timeout_sec = 0;
    await expect(request(order, 3, 0)).rejects.toMatchObject({ code: 'no_available_tokens' });
    await Promise.all([holder, waiter]);
    expect(order).toEqual([0, 1]);
  });
});
