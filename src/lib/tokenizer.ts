import { Tiktoken } from 'js-tiktoken/lite';

/**
 * Token counts for `usage`, with the o200k_base BPE (what OpenAI's current models use). The
 * upstream reports no usage, so these are estimates of what the text would cost on OpenAI.
 * The 2 MB rank table loads lazily (and `warmTokenizer` preloads it at start-up) so a process
 * that never answers a chat does not pay for it.
 */
let encoder: Tiktoken | null = null;
let loading: Promise<Tiktoken> | null = null;

export function warmTokenizer(): Promise<Tiktoken> {
  loading ??= import('js-tiktoken/ranks/o200k_base').then((m) => (encoder = new Tiktoken(m.default)));
  return loading;
}

/** Counts tokens; falls back to a chars/4 estimate until the table has loaded. */
export function countTokens(text: string): number {
  if (!text) return 0;
  if (encoder) return encoder.encode(text).length;
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
  const ids = encoder.encode(text);
  // A cut inside a multi-byte character decodes to U+FFFD: drop that half character.
  return ids.length <= max ? text : encoder.decode(ids.slice(0, max)).replace(/\uFFFD+$/, '');
}

