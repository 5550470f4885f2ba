import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateWriter } from '../../src/store/local/state-writer.js';

/** A write function whose calls stay pending until released; records the state each snapshotted. */
function gatedWrite(state: { value: number }) {
  const calls: { snapshot: number; release: (err?: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const write = () => {
    const snapshot = state.value; // taken synchronously, like serializeState
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise<void>((resolve, reject) => {
      calls.push({
        snapshot,
        release: (err) => {
          inFlight--;
          if (err) reject(err);
          else resolve();
        },
      });
    });
  };
  return { write, calls, max: () => maxInFlight };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StateWriter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces requests made during a write into one more write', async () => {
    const state = { value: 0 };
    const g = gatedWrite(state);
    const w = new StateWriter(g.write, { delayMs: 3_600_000 });
    state.value = 1;
    const p1 = w.flush();
    expect(g.calls).toHaveLength(1);
    state.value = 2;
    const p2 = w.flush();
    w.markDirty();
    state.value = 3;
    const p3 = w.flush();
    let p3done = false;
    void p3.then(() => (p3done = true));
    g.calls[0]!.release();
    await p1;
    await tick();
    expect(p3done).toBe(false); // its change was not in the first snapshot
    expect(g.calls).toHaveLength(2);
    expect(g.calls[1]!.snapshot).toBe(3);
    g.calls[1]!.release();
    await Promise.all([p2, p3]);
    expect(g.max()).toBe(1);
    await tick();
    expect(g.calls).toHaveLength(2);
  });

  it('debounces hot-path changes into one write', async () => {
    const state = { value: 0 };
    const g = gatedWrite(state);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = new StateWriter(g.write, { delayMs: 20 });
    for (let i = 1; i <= 5; i++) {
      state.value = i;
      w.markDirty();
    }
    await vi.advanceTimersByTimeAsync(19);
    expect(g.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.calls.map((c) => c.snapshot)).toEqual([5]);
    g.calls[0]!.release();
    await w.drain();
    expect(g.calls).toHaveLength(1);
  });

  it('rejects a flush whose write failed and retries pending changes later', async () => {
    const state = { value: 0 };
    const g = gatedWrite(state);
    const errors: unknown[] = [];
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = new StateWriter(g.write, { delayMs: 0, retryMs: 500, onError: (e) => errors.push(e) });
    const p = w.flush();
    g.calls[0]!.release(new Error('disk full'));
    await expect(p).rejects.toThrow('disk full');
    w.markDirty();
    const drained = expect(w.drain()).rejects.toThrow('still full');
    await tick();
    g.calls[1]!.release(new Error('still full'));
    await drained;
    expect(errors).toHaveLength(0); // a waiter (drain) received it
    // The failed change is retried in the background, after retryMs, without any new request.
    await vi.advanceTimersByTimeAsync(499);
    expect(g.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(g.calls).toHaveLength(3);
    g.calls[2]!.release(new Error('again'));
    await tick();
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500);
    g.calls[3]!.release();
    await w.drain();
    expect(g.calls).toHaveLength(4);
  });

  it('keeps debouncing changes marked dirty while a write runs (steady load does not write back to back)', async () => {
    let writes = 0;
    const w = new StateWriter(
      async () => {
        writes++;
        await new Promise((r) => setTimeout(r, 5));
      },
      { delayMs: 50 },
    );
    const until = Date.now() + 400;
    while (Date.now() < until) {
      w.markDirty();
      await new Promise((r) => setTimeout(r, 1));
    }
    await w.drain();
    // ~400 ms / (50 ms debounce + 5 ms write) ≈ 7 writes, plus the final drain; writing back to
    // back would take ~70.
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(12);
  });

  it('still writes at once for a flush that arrives while a debounced write runs', async () => {
    const state = { value: 0 };
    const g = gatedWrite(state);
    const w = new StateWriter(g.write, { delayMs: 10_000 });
    state.value = 1;
    const first = w.flush();
    await tick();
    state.value = 2;
    w.markDirty();
    const second = w.flush();
    g.calls[0]!.release();
    await first;
    await tick();
    expect(g.calls).toHaveLength(2);
    expect(g.calls[1]!.snapshot).toBe(2);
    g.calls[1]!.release();
    await second;
  });
});
