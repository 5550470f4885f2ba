import { mkdtempSync, rmSync } from 'node:fs';
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
