import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/errors.js';
import { parseFrameBatches, parseFrames } from '../../src/upstream/grok/frames.js';
import { chunks, collect } from './helpers.js';

describe('parseFrames', () => {
  it('parses one JSON object per line', async () => {
    expect(await collect(parseFrames(chunks('{"a":1}\n{"b":2}\n')))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('joins lines split across chunks, including a line split over three chunks', async () => {
    const frames = await collect(parseFrames(chunks('{"a"', ':1}\n{"b":', '"x', 'y"}\n{"c":3}')));
    expect(frames).toEqual([{ a: 1 }, { b: 'xy' }, { c: 3 }]);
  });

  it('keeps a multi-byte UTF-8 character split across two chunks intact', async () => {
    const line = Buffer.from('{"t":"héllo 世界 🌍"}\n');
    // Cut inside the 4-byte emoji and inside a 3-byte CJK character.
    const emoji = line.indexOf(Buffer.from('🌍'));
    const cjk = line.indexOf(Buffer.from('世'));
    const parts = [line.subarray(0, cjk + 1), line.subarray(cjk + 1, emoji + 2), line.subarray(emoji + 2)];
    expect(await collect(parseFrames(chunks(...parts)))).toEqual([{ t: 'héllo 世界 🌍' }]);
  });

  it('feeds byte by byte', async () => {
    const text = Buffer.from('{"t":"é✓"}\r\n\r\n{"u":2}\n');
    const bytes = [...text].map((b) => Uint8Array.of(b));
    expect(await collect(parseFrames(chunks(...bytes)))).toEqual([{ t: 'é✓' }, { u: 2 }]);
  });

  it('accepts data: prefixes, skips event:/comment/blank lines, handles CRLF', async () => {
    const input = 'event: message\r\ndata: {"a":1}\r\n\r\n: keep-alive\r\ndata:{"b":2}\r\n   \r\n{"c":3}\r\n';
    expect(await collect(parseFrames(chunks(input)))).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('stops at [DONE] (bare or data:)', async () => {
    expect(await collect(parseFrames(chunks('{"a":1}\ndata: [DONE]\n{"b":2}\n')))).toEqual([{ a: 1 }]);
    expect(await collect(parseFrames(chunks('{"a":1}\n[DONE]\n{"b":2}\n')))).toEqual([{ a: 1 }]);
  });

  it('parses a last line without a trailing newline', async () => {
    expect(await collect(parseFrames(chunks('{"a":1}\n{"b"', ':2}')))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('throws upstream_bad_response for a non-JSON line', async () => {
    const err = await collect(parseFrames(chunks('{"a":1}\n<html>oops</html>\n'))).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe('upstream_bad_response');
  });

  it('throws upstream_bad_response for an oversize frame, without waiting for its end', async () => {
    const big = '{"t":"' + 'x'.repeat(200) + '"}\n';
    const err = await collect(parseFrames(chunks(big), 100)).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.code).toBe('upstream_bad_response');
    // A frame that never ends: rejected once the buffered part exceeds the limit.
    async function* endless() {
      yield Buffer.from('{"t":"');
      for (;;) yield Buffer.alloc(64, 0x61);
    }
    const err2 = await collect(parseFrames(endless(), 1000)).catch((e) => e);
    expect(err2.code).toBe('upstream_bad_response');
  });

  it('passes errors of the source through', async () => {
    async function* broken() {
      yield Buffer.from('{"a":1}\n');
      throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    }
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const f of parseFrames(broken())) seen.push(f);
    })().catch((e) => e);
    expect(seen).toEqual([{ a: 1 }]);
    expect(err.code).toBe('ECONNRESET');
  });

  // Speed is the benchmark's business (bench/); here only that a huge read split mid-line loses nothing.
  it('handles many frames in one chunk, split mid-line', async () => {
    const line = JSON.stringify({ result: { response: { token: 'hello ', isThinking: false, messageTag: 'final' } } }) + '\n';
    const big = Buffer.from(line.repeat(50_000));
    let n = 0;
    for await (const _ of parseFrames(chunks(big.subarray(0, 1_000_003), big.subarray(1_000_003)))) n++;
    expect(n).toBe(50_000);
  });

  it('groups frames by the network read that completed them', async () => {
    const batches = await collect(parseFrameBatches(chunks('{"a":1}\n{"b":2}\n{"c"', ':3}\n', 'data: [DONE]\n{"d":4}\n')));
    expect(batches).toEqual([[{ a: 1 }, { b: 2 }], [{ c: 3 }]]);
  });

  it('delivers the frames before a bad line of the same read, then fails', async () => {
    const seen: unknown[] = [];
    const err = await (async () => {
      for await (const b of parseFrameBatches(chunks('{"a":1}\n{"b":2}\nnot json\n'))) seen.push(...b);
    })().catch((e) => e);
    expect(seen).toEqual([{ a: 1 }, { b: 2 }]);
    expect(err.code).toBe('upstream_bad_response');
  });
});
