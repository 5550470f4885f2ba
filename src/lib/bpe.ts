import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { NONE, RankTable } from './bpe-table.js';

/**
 * A compact byte-pair encoder that gives the same ids as js-tiktoken's `Tiktoken` for a
 * tiktoken rank table (we use o200k_base) at a fraction of its memory and load time: the table
 * is ./bpe-table.ts (typed arrays), pieces are UTF-8-encoded into one scratch buffer and merged
 * in place, so encoding allocates no per-piece strings.
 * Special tokens are never matched in text: they are encoded as ordinary text (tiktoken's
 * `encode_ordinary`), where js-tiktoken's default `encode` would throw on them.
 */
export interface RankSource {
  pat_str: string;
  special_tokens: Record<string, number>;
  /** Lines of `<prefix> <first rank> <base64 token> <base64 token> ...` (consecutive ranks). */
  bpe_ranks: string;
}

/** Above this many bytes a piece merges through a heap (O(n log n)) instead of rescans (O(n²)). */
const HEAP_THRESHOLD = 256;
/** Non-fatal: invalid bytes (a token cut mid-character) become U+FFFD, as js-tiktoken's do. */
const utf8Decoder = new TextDecoder('utf-8');

export class BpeEncoder {
  private readonly table: RankTable;
  private readonly pattern: RegExp;
  private buf = new Uint8Array(1024);
  private starts = new Int32Array(HEAP_THRESHOLD + 2);
  private pairs = new Int32Array(HEAP_THRESHOLD + 2);
  private parts = new Int32Array(HEAP_THRESHOLD + 2);

  constructor(src: RankSource) {
    this.pattern = new RegExp(src.pat_str, 'gu');
    this.table = new RankTable(src.bpe_ranks, src.special_tokens);
  }

  /** One past the highest ordinary rank. */
  get size(): number {
    return this.table.size;
  }

  /** Token ids of `text`. With `limit`, stops after the piece that takes the count past it. */
  encode(text: string, limit = Infinity): number[] {
    const out: number[] = [];
    this.run(text, out, limit);
    return out;
  }

  /** Number of tokens in `text`, without building the id array. */
  count(text: string): number {
    return this.run(text, null, Infinity);
  }

  /** The bytes of `ids` (unknown ids are skipped, as js-tiktoken does). */
  decodeBytes(ids: readonly number[]): Uint8Array {
    let n = 0;
    for (const id of ids) n += this.tokenBytes(id)?.length ?? 0;
    const out = new Uint8Array(n);
    let at = 0;
    for (const id of ids) {
      const b = this.tokenBytes(id);
      if (b) (out.set(b, at), (at += b.length));
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  private tokenBytes(id: number): Uint8Array | undefined {
    return this.table.tokenBytes(id);
  }

  /** Rank of scratch bytes [from, to) or NONE. */
  private rank(from: number, to: number): number {
    return this.table.rank(this.buf, from, to);
  }

  private run(text: string, out: number[] | null, limit: number): number {
    const re = this.pattern;
    re.lastIndex = 0;
    let n = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++; // (o200k's pattern never matches empty; guard against a loop anyway)
        continue;
      }
      n += this.piece(m[0], out);
      if (n > limit) break;
    }
    re.lastIndex = 0;
    return n;
  }

  /** Encodes one pre-token piece: its UTF-8 bytes, then byte-pair merges by lowest rank. */
  private piece(s: string, out: number[] | null): number {
    const size = this.utf8(s);
    const whole = this.rank(0, size);
    if (whole !== NONE) {
      out?.push(whole);
      return 1;
    }
    return size > HEAP_THRESHOLD ? this.mergeHeap(size, out) : this.mergeScan(size, out);
  }

  /** UTF-8 of `s` into the scratch buffer, lone surrogates as U+FFFD (as TextEncoder does). */
  private utf8(s: string): number {
    if (this.buf.length < s.length * 3) this.buf = new Uint8Array(s.length * 3 + 64);
    const b = this.buf;
    let p = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) b[p++] = c;
      else if (c < 0x800) (b[p++] = 0xc0 | (c >> 6)), (b[p++] = 0x80 | (c & 63));
      else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = s.charCodeAt(i + 1); // NaN past the end
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            b[p++] = 0xf0 | (cp >> 18);
            b[p++] = 0x80 | ((cp >> 12) & 63);
            b[p++] = 0x80 | ((cp >> 6) & 63);
            b[p++] = 0x80 | (cp & 63);
            i++;
            continue;
          }
          c = 0xfffd;
        }
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 63);
        b[p++] = 0x80 | (c & 63);
      }
    }
    return p;
  }

  /**
   * Short pieces: repeatedly merge the adjacent pair with the lowest rank (leftmost on ties),
   * rescanning a small array of pair ranks. `starts[i]` is where part i begins, `pairs[i]` the
   * rank of part i joined with part i+1, `parts[i]` part i's own rank.
   */
  private mergeScan(size: number, out: number[] | null): number {
    const { starts, pairs, parts } = this;
    for (let i = 0; i <= size; i++) starts[i] = i;
    for (let i = 0; i < size; i++) {
      parts[i] = this.rank(i, i + 1);
      pairs[i] = i + 2 <= size ? this.rank(i, i + 2) : NONE;
    }
    let m = size; // number of parts
    while (m > 1) {
      let best = NONE;
      let at = -1;
      for (let i = 0; i < m - 1; i++) if (pairs[i] < best) (best = pairs[i]), (at = i);
      if (at < 0) break;
      parts[at] = best;
      starts.copyWithin(at + 1, at + 2, m + 1);
      parts.copyWithin(at + 1, at + 2, m);
      pairs.copyWithin(at + 1, at + 2, m);
      m--;
      pairs[at] = at + 2 <= m ? this.rank(starts[at], starts[at + 2]) : NONE;
      if (at > 0) pairs[at - 1] = this.rank(starts[at - 1], starts[at + 1]);
    }
    let n = 0;
    for (let i = 0; i < m; i++) {
      if (parts[i] === NONE) continue; // a byte with no token: js-tiktoken drops it too
      n++;
      out?.push(parts[i]);
    }
    return n;
  }

  /**
   * Long pieces (e.g. a run of one character): the same merge order, driven by a min-heap of
   * (rank, position) over a linked list of parts, with stale entries skipped on pop.
   */
  private mergeHeap(size: number, out: number[] | null): number {
    const next = new Int32Array(size + 1);
    const parts = new Int32Array(size);
    const pairs = new Int32Array(size); // -1 once a part has been merged away
    const prev = new Int32Array(size);
    const heap = new MinHeap(size * 3);
    for (let i = 0; i < size; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
      parts[i] = this.rank(i, i + 1);
      pairs[i] = i + 2 <= size ? this.rank(i, i + 2) : NONE;
      if (pairs[i] !== NONE) heap.push(pairs[i], i);
    }
    while (heap.length > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / 2 ** 32);
      const i = key - rank * 2 ** 32;
      if (pairs[i] !== rank) continue; // stale: the pair changed or the part is gone
      const j = next[i];
      const k = next[j];
      parts[i] = rank;
      pairs[j] = -1;
      next[i] = k;
      if (k < size) prev[k] = i;
      pairs[i] = k < size ? this.rank(i, next[k]) : NONE;
      if (pairs[i] !== NONE) heap.push(pairs[i], i);
      const h = prev[i];
      if (h >= 0) {
        pairs[h] = this.rank(h, k);
        if (pairs[h] !== NONE) heap.push(pairs[h], h);
      }
    }
    let n = 0;
    for (let i = 0; i < size; i = next[i]) {
      if (parts[i] === NONE) continue;
      n++;
      out?.push(parts[i]);
    }
    return n;
  }
}

/** Binary min-heap of rank·2³² + position keys (exact in a double: rank < 2²¹). */
class MinHeap {
  private readonly keys: Float64Array;
  length = 0;
  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
  }
  push(rank: number, pos: number): void {
    const a = this.keys;
    const key = rank * 2 ** 32 + pos;
    let i = this.length++;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (a[up] <= key) break;
      a[i] = a[up];
      i = up;
    }
    a[i] = key;
  }
  pop(): number {
    const a = this.keys;
    const top = a[0];
    const last = a[--this.length];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= this.length) break;
      if (c + 1 < this.length && a[c + 1] < a[c]) c++;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/** Loads o200k_base from js-tiktoken's rank module, read as a file so its 2.3 MB source string is
 * garbage once the table is built (an `import()` would pin it in the module cache for good). */
export async function loadO200kBase(): Promise<BpeEncoder> {
  const file = createRequire(import.meta.url).resolve('js-tiktoken/ranks/o200k_base');
  const text = await readFile(file, 'utf8');
  return new BpeEncoder(JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) as RankSource);
}
