/**
 * Removes grok.com's inline markup from streamed answer text (docs/upstream-grok.md §4.4):
 * `<grok:render …>…</grok:render>`, `<xai:tool_usage_card>…</xai:tool_usage_card>` and
 * `<xaiArtifact …>…</xaiArtifact>` elements (or their self-closing forms), also when a tag is
 * split across tokens. Each removed element may be replaced by text the caller chooses (a
 * citation marker). Tag names match case-insensitively.
 *
 * Cost: text outside tags is scanned once for `<`; only a possible tag start is held back, and
 * inside an element only the last few characters are carried between tokens, so a long
 * artifact is never re-scanned.
 */

/** Tag names removed from answer text (lower-case). */
export const STRIPPED_TAGS = ['grok:render', 'xai:tool_usage_card', 'xaiartifact'] as const;

/** Longest opening tag we keep for its attributes; a longer one is dropped without looking. */
const MAX_HEAD = 4096;

/** Called for each removed element: its tag name (lower-case), its opening tag text, and whether
 * it directly follows the previous removed element. Returns the replacement text. */
export type TagReplacer = (tag: string, openingTag: string, adjacent: boolean) => string;

const closers = new Map<string, RegExp>(STRIPPED_TAGS.map((t) => [t, new RegExp(`</${t.replace(':', '\\:')}\\s*>`, 'gi')]));

export class TagStripper {
  /** Undecided text: a possible tag start (outside), or the tail that may hold a closer (inside). */
  private carry = '';
  private tag: string | null = null;
  private head = '';
  private headDone = false;
  /** No visible text since the last removed element. */
  private adjacent = false;

  constructor(private readonly replace: TagReplacer = () => '') {}

  /** Feeds one token; returns the text that is now certain to be visible. */
  push(token: string): string {
    const s = this.carry ? this.carry + token : token;
    this.carry = '';
    let out = '';
    let pos = 0;
    while (pos < s.length) {
      if (this.tag === null) {
        const lt = s.indexOf('<', pos);
        if (lt < 0) {
          out += this.visible(pos ? s.slice(pos) : s);
          break;
        }
        out += this.visible(s.slice(pos, lt));
        const m = matchOpening(s, lt);
        if (m === false) {
          out += this.visible('<');
          pos = lt + 1;
        } else if (m === null) {
          this.carry = s.slice(lt); // could still become a tag: decide with the next token
          break;
        } else {
          this.tag = m;
          this.head = '';
          this.headDone = false;
          pos = lt;
        }
      } else if (!this.headDone) {
        const gt = s.indexOf('>', pos);
        if (gt < 0) {
          if (this.head.length < MAX_HEAD) this.head += s.slice(pos);
          break;
        }
        // `/>` ends a self-closing element; the `/` may have come with the previous token.
        const selfClosing = gt > pos ? s.charCodeAt(gt - 1) === 0x2f : this.head.endsWith('/');
        if (this.head.length < MAX_HEAD) this.head += s.slice(pos, gt + 1);
        pos = gt + 1;
        this.headDone = true;
        if (selfClosing) out += this.close();
      } else {
        const re = closers.get(this.tag)!;
        re.lastIndex = pos;
        const m = re.exec(s);
        if (!m) {
          // Keep just enough to recognise a closer split across tokens.
          const keep = this.tag.length + 8;
          this.carry = s.length - pos > keep ? s.slice(s.length - keep) : s.slice(pos);
          break;
        }
        pos = m.index + m[0].length;
        out += this.close();
      }
    }
    return out;
  }

  /** End of the text: an undecided `<…` prefix is visible text; an unclosed element is dropped. */
  end(): string {
    const rest = this.tag === null ? this.carry : '';
    this.carry = '';
    this.tag = null;
    return rest;
  }

  private visible(text: string): string {
    if (this.adjacent && WORD.test(text)) this.adjacent = false;
    return text;
  }

  private close(): string {
    const rep = this.replace(this.tag!, this.head, this.adjacent);
    this.tag = null;
    this.adjacent = true;
    return rep;
  }
}

const WORD = /\S/;
const lower = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);

/**
 * At `s[lt] === '<'`: the stripped tag that opens there, `false` if none can, or `null` when
 * `s` ends before that can be decided.
 */
function matchOpening(s: string, lt: number): string | false | null {
  const avail = s.length - lt - 1;
  let undecided = false;
  for (const tag of STRIPPED_TAGS) {
    const n = Math.min(avail, tag.length);
    let i = 0;
    while (i < n && lower(s.charCodeAt(lt + 1 + i)) === tag.charCodeAt(i)) i++;
    if (i < n) continue; // mismatch
    if (avail <= tag.length) {
      undecided = true; // a prefix of the tag, or the tag with its delimiter still to come
      continue;
    }
    const next = s.charCodeAt(lt + 1 + tag.length);
    // The name must end here: `<grok:renderer>` is not ours.
    if (next === 0x3e || next === 0x2f || next === 0x20 || next === 0x0a || next === 0x09 || next === 0x0d) return tag;
  }
  return undecided ? null : false;
}
