import { describe, expect, it } from 'vitest';
import { SSE_KEEPALIVE, sseBody } from '../../src/http/sse.js';

async function* timed(items: [number, string][]) {
  for (const [delay, value] of items) {
    await new Promise((r) => setTimeout(r, delay));
    yield value;
  }
}

async function collect(gen: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of gen) out.push(s);
  return out;
}

describe('sseBody', () => {
  it('inserts comments while the source is silent, without losing or reordering events', async () => {
    const out = await collect(sseBody(timed([[0, 'a'], [70, 'b'], [0, 'c']]), 20));
    expect(out.filter((s) => s !== SSE_KEEPALIVE).join('')).toBe('abc');
    expect(out.filter((s) => s === SSE_KEEPALIVE).length).toBeGreaterThanOrEqual(2);
    // Keepalives only come between events, never inside one.
    expect(out.indexOf(SSE_KEEPALIVE)).toBeGreaterThan(out.findIndex((s) => s.includes('a')));
  });

  it('writes the first event alone, joins a burst of ready events into one write, and keeps later ones apart', async () => {
    async function* burstThenLate() {
      for (let i = 0; i < 50; i++) yield `e${i};`;
      await new Promise((r) => setTimeout(r, 30));
      yield 'late;';
    }
    const out = await collect(sseBody(burstThenLate(), 10_000));
    expect(out.join('')).toBe(Array.from({ length: 50 }, (_, i) => `e${i};`).join('') + 'late;');
    expect(out).toEqual(['e0;', Array.from({ length: 49 }, (_, i) => `e${i + 1};`).join(''), 'late;']);
  });

  it('cuts a batch at maxChars', async () => {
    async function* many() {
      for (let i = 0; i < 10; i++) yield 'x'.repeat(10);
    }
    const out = await collect(sseBody(many(), 10_000, 25));
    expect(out.join('')).toBe('x'.repeat(100));
    expect(Math.max(...out.map((s) => s.length))).toBeLessThanOrEqual(30);
  });

  it('sends what came before a failure of the source, then fails', async () => {
    async function* failing() {
      yield 'one;';
      yield 'two;';
      throw new Error('upstream broke');
    }
    const out: string[] = [];
    const err = await (async () => {
      for await (const s of sseBody(failing(), 10_000)) out.push(s);
    })().catch((e) => e);
    expect(out.join('')).toBe('one;two;');
    expect(err.message).toBe('upstream broke');
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        yield 'one';
        await new Promise((r) => setTimeout(r, 5));
        yield 'two';
      } finally {
        closed = true;
      }
    }
    for await (const s of sseBody(source(), 1000)) {
      expect(s).toBe('one');
      break;
    }
    expect(closed).toBe(true);
  });
});
