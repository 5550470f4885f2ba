import type { ToolCall } from '../core/intent.js';
import { parseToolMarkup } from './parse.js';

/**
 * Streaming "sieve" that separates tool-call markup from answer text. Text is forwarded as it
 * arrives; only a tail that could be the start of call markup (`<tool_calls`, `<tool_call`,
 * `<function_call`, `<invoke`, optionally behind a Markdown fence) is held back. A block is
 * buffered up to its closing tag and parsed once:
 * - calls found → they are emitted, and from then on plain text is dropped (the answer is the
 *   calls; later blocks still add calls);
 * - no valid call (undeclared name, unrecoverable JSON) → the block is released as ordinary
 *   text, so the client sees what the model wrote instead of losing it silently.
 * An unterminated block at the end of the answer is parsed the same way.
 */

interface Opener {
  name: string;
  close: RegExp;
}

const OPENERS: Opener[] = [
  { name: 'tool_calls', close: /<\/tool_calls\s*>/i },
  { name: 'tool_call', close: /<\/tool_call\s*>/i },
  { name: 'function_call', close: /<\/function_call\s*>/i },
  { name: 'invoke', close: /<\/invoke\s*>/i },
];

type Match = { kind: 'no' } | { kind: 'partial' } | { kind: 'full'; opener: Opener };
const NO: Match = { kind: 'no' };
const PARTIAL: Match = { kind: 'partial' };

/** Does `s` at `i` start call markup (full), possibly (partial: `s` ends first), or not? */
export function matchOpener(s: string, i: number): Match {
  let k = i;
  if (s[k] === '`') {
    for (let n = 0; n < 3; n++, k++) {
      if (k >= s.length) return PARTIAL;
      if (s[k] !== '`') return NO;
    }
    while (k < s.length && /[a-zA-Z]/.test(s[k]!)) k++;
    while (k < s.length && /\s/.test(s[k]!)) k++;
    if (k >= s.length) return PARTIAL;
  }
  if (s[k] !== '<') return NO;
  k++;
  let partial = false;
  for (const op of OPENERS) {
    const have = s.slice(k, k + op.name.length).toLowerCase();
    if (have.length < op.name.length) {
      if (op.name.startsWith(have)) partial = true;
      continue;
    }
    if (have !== op.name) continue;
    const next = s[k + op.name.length];
    if (next === undefined) {
      partial = true;
      continue;
    }
    if (/[\s>/]/.test(next)) return { kind: 'full', opener: op };
  }
  return partial ? PARTIAL : NO;
}

export type SieveOutput = { type: 'text'; text: string } | { type: 'tool_call'; call: ToolCall };

export class ToolSieve {
  private buf = '';
  private open: Opener | null = null;
  private calls = 0;

  constructor(private readonly declared: ReadonlySet<string>) {}

  /** Whether at least one call was emitted. */
  get hasCalls(): boolean {
    return this.calls > 0;
  }

  push(text: string): SieveOutput[] {
    this.buf += text;
    return this.drain(false);
  }

  /**
   * Flushes at the end of the answer. An unterminated block is parsed as it is, unless the answer
   * was truncated (max tokens): a cut call would carry wrong arguments, so it stays text.
   */
  end(truncated = false): SieveOutput[] {
    if (truncated && this.open) {
      const rest = this.buf;
      this.buf = '';
      this.open = null;
      const out: SieveOutput[] = [];
      this.text(rest, out);
      return out;
    }
    return this.drain(true);
  }

  private drain(final: boolean): SieveOutput[] {
    const out: SieveOutput[] = [];
    for (;;) {
      if (this.open) {
        const m = this.open.close.exec(this.buf);
        if (!m && !final) return out;
        const end = m ? m.index + m[0].length : this.buf.length;
        this.block(this.buf.slice(0, end), out);
        this.buf = this.buf.slice(end);
        this.open = null;
        if (!m) return out;
        continue;
      }
      const s = this.buf;
      let held = s.length;
      let found: Opener | null = null;
      const re = /[<`]/g;
      for (let m = re.exec(s); m; m = re.exec(s)) {
        const r = matchOpener(s, m.index);
        if (r.kind === 'no') continue;
        held = m.index;
        if (r.kind === 'full') found = r.opener;
        break;
      }
      if (final && !found) held = s.length;
      this.text(s.slice(0, held), out);
      this.buf = s.slice(held);
      if (!found) {
        if (final) this.buf = '';
        return out;
      }
      this.open = found;
    }
  }

  private text(t: string, out: SieveOutput[]): void {
    // Once the answer is a set of calls, prose around them is not content.
    if (t && !this.calls) out.push({ type: 'text', text: t });
  }

  private block(b: string, out: SieveOutput[]): void {
    const calls = parseToolMarkup(b, this.declared);
    if (!calls.length) return this.text(b, out);
    this.calls += calls.length;
    for (const call of calls) out.push({ type: 'tool_call', call });
  }
}

/** Whole-text convenience (tests, non-streamed callers). */
export function sieveAll(text: string, declared: ReadonlySet<string>): SieveOutput[] {
  const s = new ToolSieve(declared);
  return [...s.push(text), ...s.end()];
}
