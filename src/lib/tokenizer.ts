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
