import { describe, expect, it } from 'vitest';
import type { EgressRelay, Lane } from '../../src/upstream/grok/transport/egress-relay.js';
import { LaneCache } from '../../src/upstream/grok/transport/lane-cache.js';

/** A relay stand-in: lanes are plain objects; kill marks them (the cache must never reuse a killed one). */
function fakeRelay() {
  let seq = 0;
  const killed: string[] = [];
  const relay = {
    open: (account: string | undefined) => ({ lane: { id: `l${++seq}`, account, egress: {} as never, sockets: new Set(), killed: false } as Lane, proxyUrl: `socks5h://l${seq}` }),
    kill: (lane: Lane) => {
      lane.killed = true;
      killed.push(lane.id);
    },
  };
  return { relay: relay as unknown as EgressRelay, killed };
}

describe('LaneCache', () => {
  it('keeps as many idle clients as were busy at once, so a steady load reuses every client', async () => {
    const { relay } = fakeRelay();
    const closed: number[] = [];
    let created = 0;
    const cache = new LaneCache<number>(relay, async (h) => void closed.push(h), 60_000);
    const create = async () => ++created;
    for (let round = 0; round < 3; round++) {
      const taken = await Promise.all(Array.from({ length: 64 }, () => cache.take('k', 'acct', create)));
      for (const c of taken) cache.give(c, true);
    }
    expect(created).toBe(64);
    expect(closed).toEqual([]);
  });

  it('after a burst, a sweep trims idle clients to what the load since the previous sweep needed', async () => {
    const { relay, killed } = fakeRelay();
    const closed: number[] = [];
    let created = 0;
    const cache = new LaneCache<number>(relay, async (h) => void closed.push(h), 60_000);
    const create = async () => ++created;
    const burst = await Promise.all(Array.from({ length: 40 }, () => cache.take('k', undefined, create)));
    for (const c of burst) cache.give(c, true);
    cache.sweep(); // the burst was in this interval: all 40 stay
    expect(closed).toHaveLength(0);
    const one = await cache.take('k', undefined, create);
    cache.give(one, true);
    cache.sweep(); // one busy at most since: the floor of 8 is kept
    expect(closed).toHaveLength(32);
    expect(killed).toHaveLength(32);
    expect(created).toBe(40);
  });

  it('a client given back after a failed turn is discarded and its lane killed, never reused', async () => {
    const { relay, killed } = fakeRelay();
    const closed: number[] = [];
    let created = 0;
    const cache = new LaneCache<number>(relay, async (h) => void closed.push(h), 60_000);
    const a = await cache.take('k', undefined, async () => ++created);
    cache.give(a, false);
    expect(killed).toEqual([a.lane.id]);
    expect(closed).toEqual([a.handle]);
    const b = await cache.take('k', undefined, async () => ++created);
    expect(b.handle).not.toBe(a.handle);
  });

  it('a failed create kills the lane it opened', async () => {
    const { relay, killed } = fakeRelay();
    const cache = new LaneCache<number>(relay, async () => {}, 60_000);
    await expect(cache.take('k', undefined, async () => Promise.reject(new Error('no native client')))).rejects.toThrow('no native client');
    expect(killed).toHaveLength(1);
  });
});
