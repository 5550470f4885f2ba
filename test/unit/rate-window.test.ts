import { describe, expect, it } from 'vitest';
import { emptyRateLogs, slidingHit, WINDOW_BUCKETS } from '../../src/store/rate-window.js';

describe('sliding-window rate logs', () => {
  it('keep a bounded log under a large daily limit, and never let more than the limit into any window', () => {
    const logs = emptyRateLogs();
    const limits = { rpm: null, rpd: 5_000 };
    const passedAt: number[] = [];
    // A request every 7 s for three days: about 12 300 a day against a limit of 5 000.
    for (let t = 0; t < 3 * 86_400_000; t += 7_000) {
      if (slidingHit(logs, limits, t).ok) passedAt.push(t);
      expect(logs.rpd.length).toBeLessThanOrEqual(WINDOW_BUCKETS + 1);
    }
    let start = 0;
    let worst = 0;
    for (let end = 0; end < passedAt.length; end++) {
      while (passedAt[end]! - passedAt[start]! >= 86_400_000) start++;
      worst = Math.max(worst, end - start + 1);
    }
    expect(worst).toBe(5_000);
    // Strict by at most one grain (144 s of a day): close to the limit over the three days.
    expect(passedAt.length).toBeGreaterThan(3 * 5_000 * 0.99);
    expect(logs.rpm).toEqual([]);
  });

  it('refuses everything under a limit of 0', () => {
    expect(slidingHit(emptyRateLogs(), { rpm: 0, rpd: null }, 1)).toEqual({ ok: false, limit: 'rpm', retryAfterMs: 60_000 });
  });
});
