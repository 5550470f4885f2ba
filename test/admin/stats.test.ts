import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Stats } from '../../src/stats/stats.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'g2a-stats-'));
  dirs.push(d);
  return d;
};

describe('Stats request log', () => {
  it('keeps the newest entries in a bounded ring, across a resize and a restart', async () => {
    const dir = tmp();
    const entry = (i: number) => ({ time: 1_700_000_000_000 + i, method: 'POST', route: '/v1/chat/completions', model: 'grok-3', key: 'k', account: 'a', status: i % 4 ? 200 : 500, ms: 10, tokens: 5 });
    const s = new Stats({ dataDir: dir, logSize: 5, retentionDays: 0, persistMs: 0 });
    await s.init();
    for (let i = 0; i < 12; i++) s.record(entry(i));
    expect(s.recent(100).map((e) => e.time - 1_700_000_000_000)).toEqual([11, 10, 9, 8, 7]);
    s.resize(3);
    expect(s.recent(100).map((e) => e.time - 1_700_000_000_000)).toEqual([11, 10, 9]);
    s.record(entry(12));
    expect(s.recent(2).map((e) => e.time - 1_700_000_000_000)).toEqual([12, 11]);
    expect(s.snapshot(1_700_000_000_000).summary).toMatchObject({ total: 13, failed: 4, success: 9 });
    await s.close();

    const again = new Stats({ dataDir: dir, logSize: 3, retentionDays: 0, persistMs: 0 });
    await again.init();
    expect(again.recent(100).map((e) => e.time - 1_700_000_000_000)).toEqual([12, 11, 10]);
    expect(again.snapshot(1_700_000_000_000).models[0]).toMatchObject({ model: 'grok-3', total: 13 });
    await again.close();
  });
});

describe('local request log file', () => {
  const at = Date.now() - 60_000;
  const entry = (i: number) => ({ time: at + i, method: 'POST', route: '/v1/chat/completions', model: 'grok-3', key: 'k', keyId: 'key_1', account: 'a', status: 200, ms: i, tokens: 5 });

  it('appends to request-log.jsonl and reads it back after a restart, skipping a torn last line', async () => {
    const dir = tmp();
    const s = new Stats({ dataDir: dir, logSize: 100, persistMs: 0 });
    await s.init();
    for (let i = 0; i < 3; i++) s.record(entry(i));
    await s.close();
    const again = new Stats({ dataDir: dir, logSize: 100, persistMs: 0 });
    await again.init();
    for (let i = 3; i < 5; i++) again.record(entry(i));
    await again.close();
    const file = join(dir, 'request-log.jsonl');
    // Appended, not rewritten: five lines, each with the order number the store gave it.
    expect(readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).seq)).toEqual([1, 2, 3, 4, 5]);
    // The stats file no longer carries the log.
    expect(JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')).log).toBeUndefined();
    appendFileSync(file, '{"seq":6,"time":17');
    const third = new Stats({ dataDir: dir, logSize: 100, persistMs: 0 });
    await third.init();
    expect((await third.queryLog({ limit: 10 })).entries.map((e) => e.ms)).toEqual([4, 3, 2, 1, 0]);
    third.record(entry(5));
    expect((await third.queryLog({ limit: 1 })).entries[0]!.ms).toBe(5);
    await third.close();
  });

  it('takes over the log a stats.json of the previous version kept', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'stats.json'), JSON.stringify({ version: 1, hourly: [], daily: [], models: [], accounts: [], keys: [], total: { total: 2, success: 2, failed: 0, ms: 0, tokens: 0, cost: 0, cost_estimated: 0 }, log: [entry(0), entry(1)] }));
    const s = new Stats({ dataDir: dir, logSize: 100, persistMs: 0 });
    await s.init();
    expect((await s.queryLog({ limit: 10 })).entries.map((e) => e.ms)).toEqual([1, 0]);
    await s.close();
    expect(existsSync(join(dir, 'request-log.jsonl'))).toBe(true);
    const again = new Stats({ dataDir: dir, logSize: 100, persistMs: 0 });
    await again.init();
    expect((await again.queryLog({ limit: 10 })).entries.map((e) => e.ms)).toEqual([1, 0]);
    await again.close();
  });

  it('rewrites the file once retention has dropped enough of it', async () => {
    const dir = tmp();
    const file = join(dir, 'request-log.jsonl');
    const s = new Stats({ dataDir: dir, logSize: 2000, persistMs: 0 });
    await s.init();
    for (let i = 0; i < 1500; i++) s.record(entry(i));
    await s.close();
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(1500);
    // Down to 100 kept: 1400 stale lines are more than the slack allows, so the next save rewrites.
    s.setRetention({ maxEntries: 100, retentionDays: 30, usageDays: 90 });
    await s.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(100);
    expect(JSON.parse(lines[0]!).ms).toBe(1400);
    expect(JSON.parse(lines.at(-1)!).ms).toBe(1499);
  });
});
