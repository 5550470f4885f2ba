import { loadO200kBase, type BpeEncoder } from './bpe.js';

/**
 * Token counts for `usage`, with the o200k_base BPE (what OpenAI's current models use). The
 * upstream reports no usage, so these are estimates of what the text would cost on OpenAI.
 * The engine is our compact encoder (./bpe.ts, same ids as js-tiktoken at ~5 MiB instead of
 * ~150 MiB); its table still loads lazily (and `warmTokenizer` preloads it at start-up) so a
 * process that never answers a chat does not pay for it.
 */
let encoder: BpeEncoder | null = null;
let loading: Promise<BpeEncoder> | null = null;

export function warmTokenizer(): Promise<BpeEncoder> {
  loading ??= loadO200kBase().then((e) => (encoder = e));
  return loading;
}

/** Counts tokens; falls back to a chars/4 estimate until the table has loaded. */
export function countTokens(text: string): number {
  if (!text) return 0;
  if (encoder) return encoder.count(text);
  void warmTokenizer();
  return Math.ceil(text.length / 4);
}

/** The first `max` whole tokens of `text` (emulated `max_tokens`); chars/4 before the table loads. */
export function headTokens(text: string, max: number): string {
  if (max <= 0 || !text) return '';
  if (!encoder) {
    void warmTokenizer();
    return text.slice(0, max * 4);
  }
  // Ids are independent per pre-token piece, so encoding can stop once past `max`.
  const ids = encoder.encode(text, max);
  // A cut inside a multi-byte character decodes to U+FFFD: drop that half character.
  return ids.length <= max ? text : encoder.decode(ids.slice(0, max)).replace(/\uFFFD+$/, '');
}
