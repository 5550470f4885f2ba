import { sniffMedia } from '../media/sniff.js';

/**
 * OpenAI image request/response shapes (docs/api-contract.md §5) ↔ what grok.com's imagine takes.
 * The size table is the README's "size → aspect ratio" table.
 */

export const SIZE_TO_RATIO: Record<string, string> = {
  '1024x1024': '1:1',
  '512x512': '1:1',
  '256x256': '1:1',
  '1280x720': '16:9',
  '1792x1024': '3:2',
  '1536x1024': '3:2',
  '720x1280': '9:16',
  '1024x1792': '2:3',
  '1024x1536': '2:3',
};

/** Aspect ratios the imagine WebSocket accepts (G), as [name, width/height]. */
const RATIOS: [string, number][] = [
  ['1:1', 1], ['16:9', 16 / 9], ['9:16', 9 / 16], ['4:3', 4 / 3], ['3:4', 3 / 4], ['3:2', 3 / 2], ['2:3', 2 / 3], ['2:1', 2], ['1:2', 0.5],
];

/**
 * `size` → upstream aspect ratio: the table above, a ratio given directly ("16:9"), or the
 * nearest supported ratio for any other WxH. Null when `size` cannot be read.
 */
export function aspectForSize(size: string | undefined | null): string | null {
  if (!size || size === 'auto') return '1:1';
  const s = size.trim().toLowerCase();
  if (SIZE_TO_RATIO[s]) return SIZE_TO_RATIO[s]!;
  if (RATIOS.some(([r]) => r === s)) return s;
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(s);
  if (!m) return null;
  const want = Number(m[1]) / Number(m[2]);
  let best = RATIOS[0]!;
  for (const r of RATIOS) if (Math.abs(Math.log(r[1] / want)) < Math.abs(Math.log(best[1] / want))) best = r;
  return best[0];
}

export const ZERO_USAGE = { total_tokens: 0, input_tokens: 0, output_tokens: 0, input_tokens_details: { text_tokens: 0, image_tokens: 0 } };

export type ImageFormat = 'url' | 'b64_json';

/** `base64` is an alias of `b64_json` (docs/api-contract.md §5.1). */
export function normaliseFormat(f: string): ImageFormat {
  return f === 'url' ? 'url' : 'b64_json';
}

export function outputFormat(bytes: Buffer): 'png' | 'jpeg' | 'webp' {
  const t = sniffMedia(bytes);
  return t?.ext === 'jpg' ? 'jpeg' : t?.ext === 'webp' ? 'webp' : 'png';
}

/** The stream events' `size` enum: the requested size when it is one of OpenAI's, else "auto". */
export function streamSize(size: string | undefined | null): '1024x1024' | '1024x1536' | '1536x1024' | 'auto' {
  return size === '1024x1024' || size === '1024x1536' || size === '1536x1024' ? size : 'auto';
}

export type StreamKind = 'image_generation' | 'image_edit';

export function partialEvent(kind: StreamKind, b64: string, index: number, partialIndex: number, size: string | undefined | null): Record<string, unknown> {
  return {
    type: `${kind}.partial_image`,
    b64_json: b64,
    created_at: Math.floor(Date.now() / 1000),
    size: streamSize(size),
    quality: 'auto',
    background: 'auto',
    output_format: outputFormat(Buffer.from(b64.slice(0, 24), 'base64')),
    partial_image_index: partialIndex,
    index,
  };
}

export function completedEvent(kind: StreamKind, bytes: Buffer, index: number, size: string | undefined | null, url?: string): Record<string, unknown> {
  return {
    type: `${kind}.completed`,
    b64_json: bytes.toString('base64'),
    created_at: Math.floor(Date.now() / 1000),
    size: streamSize(size),
    quality: 'auto',
    background: 'auto',
    output_format: outputFormat(bytes),
    usage: ZERO_USAGE,
    index,
    ...(url ? { url } : {}),
  };
}
