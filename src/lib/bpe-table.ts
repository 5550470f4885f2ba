/**
 * A tiktoken rank table in four typed arrays (~4.5 MiB for o200k_base), where js-tiktoken keeps
 * a Map entry per token twice over (a comma-joined string key and a Uint8Array value, ~150 MiB):
 *   bytes      all token bytes, concatenated;    start/len  rank -> its bytes (decode);
 *   table      open-addressing hash: slot -> rank, keyed by the bytes themselves (encode).
 * Lookups hash a slice of the caller's buffer, so they allocate nothing.
 */
export const NONE = 0x7fffffff;

const B64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));
B64['-'.charCodeAt(0)] = 62; // base64url spellings, as base64-js accepts them
B64['_'.charCodeAt(0)] = 63;

function hashBytes(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

export class RankTable {
  /** One past the highest ordinary rank. */
  readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly start: Uint32Array;
  private readonly len: Uint16Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly specials = new Map<number, Uint8Array>();

  /** `bpeRanks`: lines of `<prefix> <first rank> <base64 token> <base64 token> ...` (consecutive ranks). */
  constructor(bpeRanks: string, specialTokens: Record<string, number>) {
    // Pass 1 sizes the arrays exactly; pass 2 decodes the base64 straight into them, so no
    // per-token string or buffer is ever created.
    let maxRank = -1;
    let total = 0;
    let count = 0;
    scan(bpeRanks, (rank, from, to) => {
      if (rank > maxRank) maxRank = rank;
      total += decodedLength(bpeRanks, from, to);
      count++;
    });
    this.size = maxRank + 1;
    this.bytes = new Uint8Array(total);
    this.start = new Uint32Array(this.size);
    this.len = new Uint16Array(this.size);
    let cap = 1024;
    while (cap < count * 2) cap *= 2; // load factor <= 1/2 keeps probe runs short
    this.table = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    let at = 0;
    scan(bpeRanks, (rank, from, to) => {
      const end = decodeBase64(bpeRanks, from, to, this.bytes, at);
      this.start[rank] = at;
      this.len[rank] = end - at;
      // A repeated token keeps its last rank, like js-tiktoken's object-keyed table.
      let slot = this.slot(this.bytes, at, end);
      if (slot < 0) for (slot = hashBytes(this.bytes, at, end) & this.mask; this.table[slot] !== -1; ) slot = (slot + 1) & this.mask;
      this.table[slot] = rank;
      at = end;
    });
    const utf8 = new TextEncoder();
    for (const [name, rank] of Object.entries(specialTokens)) this.specials.set(rank, utf8.encode(name));
  }

  /** Rank of the token equal to buf[from, to), or NONE. */
  rank(buf: Uint8Array, from: number, to: number): number {
    const slot = this.slot(buf, from, to);
    return slot < 0 ? NONE : this.table[slot];
  }

  /** The bytes of a token id (ordinary or special), or undefined for an unknown id. */
  tokenBytes(id: number): Uint8Array | undefined {
    if (id >= 0 && id < this.size && this.len[id] > 0) return this.bytes.subarray(this.start[id], this.start[id] + this.len[id]);
    return this.specials.get(id);
  }

  private slot(buf: Uint8Array, from: number, to: number): number {
    const n = to - from;
    const { table, bytes, start, len, mask } = this;
    for (let slot = hashBytes(buf, from, to) & mask; ; slot = (slot + 1) & mask) {
      const r = table[slot];
      if (r === -1) return -1;
      if (len[r] !== n) continue;
      let k = 0;
      const s = start[r];
      while (k < n && bytes[s + k] === buf[from + k]) k++;
      if (k === n) return slot;
    }
  }
}

/** Calls `each(rank, from, to)` for every base64 token in the rank text, without substrings. */
function scan(text: string, each: (rank: number, from: number, to: number) => void): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    let eol = text.indexOf('\n', i);
    if (eol < 0) eol = n;
    const sp = text.indexOf(' ', i); // skip the line's prefix field
    if (sp < 0 || sp > eol) {
      i = eol + 1;
      continue;
    }
    let j = sp + 1;
    let rank = 0;
    for (let c = text.charCodeAt(j); c >= 48 && c <= 57; c = text.charCodeAt(++j)) rank = rank * 10 + c - 48;
    while (j < eol) {
      while (j < eol && text.charCodeAt(j) === 32) j++;
      const from = j;
      while (j < eol && text.charCodeAt(j) !== 32) j++;
      if (j > from) each(rank++, from, j);
    }
    i = eol + 1;
  }
}

function decodedLength(text: string, from: number, to: number): number {
  let chars = 0;
  for (let i = from; i < to; i++) if ((B64[text.charCodeAt(i)] ?? -1) >= 0) chars++;
  return Math.floor((chars * 6) / 8);
}

/** Decodes text[from, to) (base64, padding optional) into out at `at`; returns the end offset. */
function decodeBase64(text: string, from: number, to: number, out: Uint8Array, at: number): number {
  let acc = 0;
  let bits = 0;
  for (let i = from; i < to; i++) {
    const v = B64[text.charCodeAt(i)] ?? -1;
    if (v < 0) continue; // '=' padding
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return at;
}
