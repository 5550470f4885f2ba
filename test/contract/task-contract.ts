/** TaskStore and ResponseStore contracts, run on the local and the Redis implementations. */
import { describe, expect, it } from 'vitest';
import type { ResponseStore } from '../../src/store/responses.js';
import type { TaskStore, VideoTask } from '../../src/store/tasks.js';

const task = (id: string, over: Partial<VideoTask> = {}): VideoTask => ({
  id,
  status: 'pending',
  progress: 0,
  params: { model: 'grok-imagine-1.0-video', prompt: 'p', aspectRatio: '16:9', videoLength: 6, resolution: '480p', preset: 'normal', imageUrl: null },
  message: 'queued',
  videoId: null,
  owner: 'inst-a',
  createdAt: 1_700_000_000_000,
  startedAt: null,
  completedAt: null,
  updatedAt: Date.now(),
  ...over,
});

export function taskContract(name: string, factory: () => Promise<TaskStore>): void {
  describe(`task store contract: ${name}`, () => {
    it('creates, lists newest first and filters by status', async () => {
      const s = await factory();
      await s.create(task('t-old', { createdAt: 1 }));
      await s.create(task('t-new', { createdAt: 2, status: 'running' }));
      expect((await s.list()).map((t) => t.id)).toEqual(['t-new', 't-old']);
      expect((await s.list('running')).map((t) => t.id)).toEqual(['t-new']);
      expect(await s.get('t-old')).toEqual(task('t-old', { createdAt: 1, updatedAt: (await s.get('t-old'))!.updatedAt }));
      expect(await s.get('missing')).toBeNull();
    });

    it('transition is a compare-and-set: of racing transitions exactly one wins', async () => {
      const s = await factory();
      await s.create(task('t-cas'));
      const seen: string[] = [];
      const off = s.subscribe('t-cas', (t) => seen.push(t.status));
      const results = await Promise.all([
        s.transition('t-cas', ['pending', 'running'], { status: 'cancelled', message: 'cancelled' }),
        s.transition('t-cas', ['pending'], { status: 'running', startedAt: 5 }),
        s.transition('t-cas', ['pending', 'running'], { status: 'failed', message: 'x' }),
      ]);
      const winners = results.filter((r) => r !== null && r.status !== 'running');
      expect(winners).toHaveLength(1);
      expect(await s.transition('t-cas', ['pending', 'running'], { status: 'completed' })).toBeNull();
      expect(await s.transition('nope', ['pending'], { status: 'running' })).toBeNull();
      const final = (await s.get('t-cas'))!;
      expect(['cancelled', 'failed']).toContain(final.status);
      for (let i = 0; i < 100 && !seen.includes(final.status); i++) await new Promise((r) => setTimeout(r, 10));
      expect(seen).toContain(final.status);
      off();
    });

    it('raises progress of running tasks only, never lowers it', async () => {
      const s = await factory();
      await s.create(task('t-prog'));
      await s.progress('t-prog', 10);
      expect((await s.get('t-prog'))!.progress).toBe(0);
      await s.transition('t-prog', ['pending'], { status: 'running' });
      await s.progress('t-prog', 40, 'generating');
      await s.progress('t-prog', 30);
      expect(await s.get('t-prog')).toMatchObject({ progress: 40, message: 'generating' });
    });

    it('deletes, expires finished tasks and fails orphans of dead instances', async () => {
      const s = await factory();
      const now = Date.now();
      await s.create(task('t-done', { status: 'completed', completedAt: now - 10_000, updatedAt: now - 10_000 }));
      await s.create(task('t-orphan', { status: 'running', owner: 'dead', updatedAt: now - 60_000 }));
      await s.create(task('t-mine', { status: 'running', owner: 'live', updatedAt: now - 60_000 }));
      await s.create(task('t-del'));
      expect(await s.delete(['t-del', 't-del', 'missing'])).toBe(1);
      expect((await s.expire(now - 5000)).map((t) => t.id)).toEqual(['t-done']);
      const orphans = await s.recoverOrphans('live', now - 30_000, 'instance died');
      expect(orphans.map((t) => [t.id, t.status, t.message])).toEqual([['t-orphan', 'failed', 'instance died']]);
      expect((await s.list()).map((t) => t.id).sort()).toEqual(['t-mine', 't-orphan']);
    });
  });
}

export function responseContract(name: string, factory: () => Promise<ResponseStore>): void {
  describe(`response store contract: ${name}`, () => {
    it('puts, gets, expires and deletes records', async () => {
      const s = await factory();
      const rec = { id: 'resp_abcdefgh1', expiresAt: Date.now() + 60_000, messages: [], response: { id: 'resp_abcdefgh1', status: 'completed' } };
      await s.put(rec);
      expect(await s.get(rec.id)).toEqual(rec);
      await s.put({ ...rec, id: 'resp_expired01', expiresAt: Date.now() - 1 });
      expect(await s.get('resp_expired01')).toBeNull();
      expect(await s.delete(rec.id)).toBe(true);
      expect(await s.delete(rec.id)).toBe(false);
      expect(await s.get(rec.id)).toBeNull();
    });
  });
}
