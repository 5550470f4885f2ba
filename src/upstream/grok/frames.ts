import { upstreamErrors } from './classify.js';

/**
 * NDJSON frame parser for grok.com's REST answer stream (docs/upstream-grok.md §4.1), tolerant of
 * the SSE-ish variants seen in the wild: an optional `data:` prefix, `event:`/`id:`/`retry:` and
 * `:` comment lines (skipped), blank lines, CRLF, and `[DONE]` as an end marker.
 *
 * Byte-safe: lines are cut on the `\n` byte with Buffer.indexOf and only complete lines are
 * decoded, so a multi-byte UTF-8 character split across chunks is never mangled. A line that
 * spans chunks is kept as a list of slices and concatenated once, so a large frame costs O(n).
 */

export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

/** Sentinels for lines that carry no frame; any other return value of parseLine is a frame. */
const SKIP = Symbol('skip');
const DONE = Symbol('done');

function isBlank(b: number): boolean {
  return b === SPACE || b === TAB || b === CR;
}

/** True when `line` has `word` (ASCII, lower-case) at `at`, case-insensitively. */
function startsWithAt(line: Uint8Array, at: number, word: string): boolean {
  if (line.length - at < word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if ((line[at + i]! | 0x20) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** Parses one line (without its `\n`) into a frame, or SKIP / DONE. Decides on the first bytes before decoding. */
function parseLine(line: Buffer): unknown {
  let start = 0;
  let end = line.length;
  while (start < end && isBlank(line[start]!)) start++;
  while (end > start && isBlank(line[end - 1]!)) end--;
  if (start === end) return SKIP;
  const first = line[start]!;
  if (first === COLON) return SKIP; // SSE comment / keep-alive
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) {
    if (startsWithAt(line, start, 'data:')) {
      start += 5;
      while (start < end && isBlank(line[start]!)) start++;
      if (start === end) return SKIP;
    } else if (startsWithAt(line, start, 'event:') || startsWithAt(line, start, 'id:') || startsWithAt(line, start, 'retry:')) {
      return SKIP;
    }
  }
  if (end - start === 6 && line.toString('latin1', start, end) === '[DONE]') return DONE;
  const text = line.toString('utf8', start, end);
  try {
    return JSON.parse(text);
  } catch {
    throw upstreamErrors.badResponse(`a stream line is not JSON (${JSON.stringify(text.slice(0, 80))}…)`);
  }
}

/**
 * Yields every JSON frame of `source`, in order. Ends at `[DONE]` or at the end of the source
 * (a last line without `\n` is still parsed). Throws a classified `UpstreamError`
 * (`upstream_bad_response`) for a line that is not JSON or longer than `maxFrameBytes`; errors
 * of the source itself propagate unchanged.
 */
export async function* parseFrames(source: AsyncIterable<Uint8Array>, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): AsyncGenerator<unknown, void, undefined> {
  for await (const batch of parseFrameBatches(source, maxFrameBytes)) yield* batch;
}

/**
 * The frames of `source` grouped by the chunk they completed in: one array per network read
 * that finished at least one line. A burst of tokens then costs one await instead of one per
 * frame, which is most of what relaying a fast stream costs (bench/README.md). Same ending and
 * errors as `parseFrames`; frames before an error or `[DONE]` in the same chunk are delivered.
 */
export async function* parseFrameBatches(source: AsyncIterable<Uint8Array>, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): AsyncGenerator<unknown[], void, undefined> {
  const tooLarge = () => upstreamErrors.badResponse(`a stream frame is larger than ${maxFrameBytes} bytes`);
  // Slices of the current, still incomplete line.
  const partial: Buffer[] = [];
  let partialLen = 0;
  for await (const raw of source) {
    const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const batch: unknown[] = [];
    let pos = 0;
    let failure: unknown;
    let done = false;
    try {
      for (let nl = chunk.indexOf(NL, pos); nl !== -1; nl = chunk.indexOf(NL, pos)) {
        let line: Buffer;
        if (partialLen) {
          partial.push(chunk.subarray(pos, nl));
          line = Buffer.concat(partial, partialLen + nl - pos);
          partial.length = 0;
          partialLen = 0;
        } else {
          line = chunk.subarray(pos, nl);
        }
        pos = nl + 1;
        if (line.length > maxFrameBytes) throw tooLarge();
        const parsed = line.length ? parseLine(line) : SKIP;
        if (parsed === DONE) {
          done = true;
          break;
        }
        if (parsed !== SKIP) batch.push(parsed);
      }
    } catch (e) {
      failure = e;
    }
    if (batch.length) yield batch;
    if (failure !== undefined) throw failure;
    if (done) return;
    if (pos < chunk.length) {
      partial.push(pos ? chunk.subarray(pos) : chunk);
      partialLen += chunk.length - pos;
      // Fail as soon as the frame is known to be too big, without buffering the rest of it.
      if (partialLen > maxFrameBytes) throw tooLarge();
    }
  }
  if (partialLen) {
    const parsed = parseLine(Buffer.concat(partial, partialLen));
    if (parsed !== SKIP && parsed !== DONE) yield [parsed];
  }
}
