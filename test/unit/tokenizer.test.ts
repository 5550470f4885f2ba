import { describe, it, expect, beforeAll } from 'vitest';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { BpeEncoder, loadO200kBase } from '../../src/lib/bpe.js';
import { countTokens, headTokens, warmTokenizer } from '../../src/lib/tokenizer.js';

/** js-tiktoken is the reference: our encoder must give exactly its ids. */
let ref: Tiktoken;
let bpe: BpeEncoder;
const refIds = (text: string) => ref.encode(text, [], []); // ordinary text, as ours encodes it
/** What headTokens returned when js-tiktoken was the engine. */
function refHead(text: string, max: number): string {
  if (max <= 0 || !text) return '';
  const ids = refIds(text);
  return ids.length <= max ? text : ref.decode(ids.slice(0, max)).replace(/\uFFFD+$/, '');
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const FIXED = [
  '',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  "I'll say it: you're right, they've DONE it, WE'LL see. It's Bob's. 'quoted' don'T",
  'function add(a: number, b: number): number {\n  return a + b; // sum\n}\n\tconst x = [1, 2, 3].map((v) => v ** 2);',
  'def f(x):\r\n    if x > 0:\r\n        return {"k": x}\r\n',
  '1234567890 3.14159 -42 1e10 0xFF 1,000,000 12:34:56 2024-05-13T12:00:00Z',
  '   leading and trailing   \n\n\n  \t\t \r\n\r\n    ',
  ' \n \n\n\t \u00a0\u2003\u3000 x',
  'Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ ✨ 🏳️‍🌈',
  '东京是日本的首都。人口约1400万。漢字とひらがなとカタカナ。한국어 문장입니다.',
  'مرحبا بالعالم، هذا نص تجريبي باللغة العربية. שלום עולם',
  'Привет, мир! Ελληνικά κείμενα. नमस्ते दुनिया। สวัสดีชาวโลก',
  'Mixed: café naïve Größe façade — “quotes” ‘single’ … 10€ ¥500 ©®™ ∑∫√≠±',
  'combining: e\u0301 a\u0308\u0323 Z\u0351\u0352\u0353 ',
  'lone surrogates: \ud800 x \udfff y \ud83d',
  'specials are text here: <|endoftext|> and <|endofprompt|>',
  'https://example.com/path?q=1&r=two#frag mail@example.org C:\\Windows\\System32',
  '<div class="a">&nbsp;</div>\n<script>alert("x")</script>',
  'CamelCaseIdentifier snake_case_name SCREAMING_CASE kebab-case-name',
];

const LONG = [
  'a'.repeat(1000),
  ' '.repeat(700),
  '\n'.repeat(400),
  '!'.repeat(600),
  '字'.repeat(300),
  '🎉'.repeat(200),
  '1'.repeat(999),
  'ab'.repeat(400),
  '=-'.repeat(300),
  `x${' '.repeat(500)}y`,
];

function randomCorpus(count: number, seed: number): string[] {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const cp = String.fromCodePoint;
  const pools: Array<() => string> = [
    () => 'abcdefghijklmnopqrstuvwxyz'[int(26)],
    () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[int(26)],
    () => '0123456789'[int(10)],
    () => ' \t\n\r  '[int(6)],
    () => `.,;:!?'"()[]{}<>/\\|@#$%^&*-_=+~\``[int(33)],
    () => cp(0xa0 + int(0x160)), // Latin-1 and Latin Extended
    () => cp(0x391 + int(0x100)), // Greek, Cyrillic
    () => cp(0x4e00 + int(0x5000)), // CJK
    () => cp(0xac00 + int(0x2ba4)), // Hangul
    () => cp(0x600 + int(0x100)), // Arabic
    () => cp(0x300 + int(0x70)), // combining marks
    () => cp(0x1f300 + int(0x300)), // emoji
    () => cp(0x10000 + int(0x100000 - 0x10000)), // any astral
    () => String.fromCharCode(0xd800 + int(0x800)), // lone surrogate
    () => cp(int(0xd800)), // any BMP below the surrogates
    () => ['the', ' and', 'tion', "'s", "'LL", ' of', 'ing', '  ', '\n\n'][int(9)],
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = int(i % 10 === 0 ? 300 : 60);
    // Most strings draw from 1–3 pools (realistic runs); some from all of them (noise).
    const mine = rnd() < 0.7 ? Array.from({ length: 1 + int(3) }, () => pools[int(pools.length)]) : pools;
    let s = '';
    for (let k = 0; k < len; k++) s += mine[int(mine.length)]();
    out.push(s);
  }
  return out;
}

beforeAll(async () => {
  ref = new Tiktoken(o200k);
  bpe = await loadO200kBase();
});

describe('BpeEncoder (o200k_base) matches js-tiktoken', () => {
  it('gives identical ids on fixed samples, long runs and a seeded random corpus', () => {
    const corpus = [...FIXED, ...LONG, ...randomCorpus(3000, 20240513)];
    let tokens = 0;
    for (const text of corpus) {
      const want = refIds(text);
      const got = bpe.encode(text);
      if (got.length !== want.length || got.some((id, i) => id !== want[i])) {
        expect({ text, got }).toEqual({ text, got: want });
      }
      expect(bpe.count(text)).toBe(want.length);
      tokens += want.length;
    }
    expect(tokens).toBeGreaterThan(50_000);
  });

  it('merges long single pieces (heap path) like the reference', () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 40; i++) {
      // One [\p{Ll}]+ piece of 257–900 bytes with realistic bigram merges.
      const letters = 'etaoinshrdlucmfwypvbgkjqxz';
      let s = '';
      const n = 257 + Math.floor(rnd() * 640);
      while (s.length < n) s += letters[Math.floor(rnd() ** 2 * 26)];
      expect(bpe.encode(s)).toEqual(refIds(s));
    }
  });

  it('decodes ids back to the original bytes', () => {
    for (const text of [...FIXED, ...LONG].filter((t) => !/[\ud800-\udfff]/.test(t))) {
      expect(bpe.decode(bpe.encode(text))).toBe(text);
    }
    expect(bpe.decode([199999])).toBe('<|endoftext|>');
    expect(bpe.size).toBe(199998);
  });

  it('stops early with a limit but keeps the same prefix', () => {
    const text = FIXED.slice(1).join(' ');
    const all = bpe.encode(text);
    const head = bpe.encode(text, 10);
    expect(head.length).toBeGreaterThan(10);
    expect(head).toEqual(all.slice(0, head.length));
  });
});

describe('tokenizer facade', () => {
  it('estimates chars/4 before the table loads, then counts exactly', async () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('x'.repeat(40))).toBe(10); // not loaded yet in this test file
    await warmTokenizer();
    for (const text of [...FIXED, ...randomCorpus(200, 99)]) expect(countTokens(text)).toBe(refIds(text).length);
  });

  it('headTokens returns what the js-tiktoken implementation returned', async () => {
    await warmTokenizer();
    const rnd = mulberry32(42);
    for (const text of [...FIXED, ...LONG, ...randomCorpus(500, 1234)]) {
      for (const max of [0, 1, 2, 3, 7, 1 + Math.floor(rnd() * 60), 100_000]) {
        expect(headTokens(text, max)).toBe(refHead(text, max));
      }
    }
  });

  it('a freshly loaded table encodes a 10 KB mixed text like js-tiktoken (speed and memory: bench/tokenizer-mem.ts)', async () => {
    const text = randomCorpus(400, 5).join('').slice(0, 10_000);
    const ours = await loadO200kBase();
    expect(ours.encode(text)).toEqual(new Tiktoken(o200k).encode(text, [], []));
  });
});
