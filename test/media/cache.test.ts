import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { MediaCache } from '../../src/media/cache.js';
import { LocalTaskStore } from '../../src/store/local/local-task-store.js';
import { makeMp4, makePng } from '../fake-grok/media-fixtures.js';
import { parseRange } from '../../src/routes/v1/files.js';
import { aspectForSize } from '../../src/translators/images.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'g2a-cache-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('media cache', () => {
  it('sniffs the type, evicts oldest-first down to the target ratio, and survives a restart', async () => {
    const dir = temp();
    // 1 MB limit for videos, evict down to 50 %.
    const config = loadConfig({ env: { DATA_DIR: dir }, overrides: { cache: { video_limit_mb: 1, evict_target_ratio: 0.5 } } });
    const cache = MediaCache.forConfig(() => config);
    await cache.init();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await cache.put('video', makeMp4(300 * 1024, i)));
    expect(ids.every((id) => id.endsWith('.mp4'))).toBe(true);
    const usage = cache.usage().video;
    expect(usage.bytes).toBeLessThanOrEqual(1024 * 1024);
    // The newest file is never evicted; the oldest ones went first.
    expect(cache.path('video', ids[4]!)).not.toBeNull();
    expect(cache.path('video', ids[0]!)).toBeNull();
    const png = await cache.put('image', makePng(4, 4, [1, 2, 3]));
    expect(png).toMatch(/^[0-9a-f]{32}\.png$/);
    await expect(cache.put('image', Buffer.from('plain text'))).rejects.toThrow();

    writeFileSync(join(dir, 'media', 'video', '.leftover.123.tmp'), 'x');
    const again = MediaCache.forConfig(() => config);
    await again.init();
    expect(again.usage()).toEqual(cache.usage());
    expect(again.path('image', png)).not.toBeNull();
    expect(readdirSync(join(dir, 'media', 'video')).some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(again.path('image', '../../tasks.json')).toBeNull();
    const files = again.usage().video.files + again.usage().image.files;
    expect(await again.clear()).toBe(files);
    expect(again.usage().video.bytes).toBe(0);
  });

  it('parses ranges like RFC 9110', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=990-', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=0-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=1000-', 1000)).toBeNull();
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
  });

  it('maps sizes to the nearest upstream aspect ratio', () => {
    expect(['1024x1024', '1280x720', '720x1280', '1792x1024', '1024x1792', '1536x1024', '1024x1536', '16:9', '1000x400', 'auto'].map(aspectForSize)).toEqual(['1:1', '16:9', '9:16', '3:2', '2:3', '3:2', '2:3', '16:9', '2:1', '1:1']);
    expect(aspectForSize('big')).toBeNull();
  });
});

describe('local task store durability', () => {
  it('has a status change on disk once transition resolves', async () => {
    const dir = temp();
    const a = new LocalTaskStore(dir, 60_000);
    await a.init();
    const now = Date.now();
    await a.create({ id: 't1', status: 'pending', progress: 0, params: { model: 'm', prompt: 'p', aspectRatio: '1:1', videoLength: 6, resolution: '480p', preset: 'normal', imageUrl: null }, message: '', videoId: null, owner: 'x', createdAt: now, startedAt: null, completedAt: null, updatedAt: now });
    await a.transition('t1', ['pending'], { status: 'running' });
    // Progress is coalesced (60 s here): a fresh reader sees the durable status, maybe not the progress.
    await a.progress('t1', 50);
    const b = new LocalTaskStore(dir);
    await b.init();
    expect((await b.get('t1'))!.status).toBe('running');
    await a.close();
    const c = new LocalTaskStore(dir);
    await c.init();
    expect((await c.get('t1'))!.progress).toBe(50);
  });
});
