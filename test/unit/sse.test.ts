import { describe, expect, it } from 'vitest';
import { SSE_KEEPALIVE, withKeepalive } from '../../src/http/sse.js';

async function* timed(items: [number, string][]) {
  for (const [delay, value] of items) {
    await new Promise((r) => setTimeout(r, delay));
    yield value;
  }
}

describe('withKeepalive', () => {
  it('inserts comments while the source is silent, without losing or reordering events', async () => {
    const out: string[] = [];
    for await (const s of withKeepalive(timed([[0, 'a'], [70, 'b'], [0, 'c']]), 20)) out.push(s);
    expect(out.filter((s) => s !== SSE_KEEPALIVE)).toEqual(['a', 'b', 'c']);
    expect(out.filter((s) => s === SSE_KEEPALIVE).length).toBeGreaterThanOrEqual(2);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        yield 'one';
        yield 'two';
      } finally {
        closed = true;
      }
    }
    for await (const s of withKeepalive(source(), 1000)) {
      expect(s).toBe('one');
      break;
    }
    expect(closed).toBe(true);
  });
});
