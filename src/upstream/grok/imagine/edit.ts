import { readBounded } from '../../http-client.js';
import { downloadAsset } from '../assets.js';
import type { GrokClient } from '../client.js';
import { parseFrames } from '../frames.js';
import { mediaErrors } from '../../media-errors.js';
import { uploadV2 } from '../media-upload.js';
import { drawingPayload, imageToImagePayload, readImageFrame } from './payload.js';

/** G accepts at most this many input images per edit (docs/upstream-grok.md §7.3); the last ones are kept. */
export const MAX_EDIT_INPUTS = 8;

export interface EditInput {
  name: string;
  mime: string;
  data: Buffer;
}

/**
 * Reads an image stream of `conversations/new` to its final images (one per `imageIndex`),
 * then downloads each with the account's cookie. Moderated images are counted, not returned.
 */
async function streamImages(client: GrokClient, token: string, payload: Record<string, unknown>, referer: string, signal: AbortSignal, max: number): Promise<{ images: Buffer[]; moderated: number }> {
  const headers = client.headers(token);
  headers.Referer = referer;
  const finals = new Map<number, string>();
  const moderated = new Set<number>();
  try {
    const res = await client.request(client.url('/rest/app-chat/conversations/new'), { method: 'POST', account: token, stream: true, headers, body: JSON.stringify(payload), signal });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw client.classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    }
    const stream = res.body;
    try {
      for await (const frame of parseFrames(stream)) {
        const f = frame as Record<string, any>;
        if (f?.error) throw client.classifyFrame(f.error);
        if (f?.result?.response?.error) throw client.classifyFrame(f.result.response.error);
        const img = readImageFrame(frame);
        if (!img?.final) continue;
        if (img.moderated) moderated.add(img.index);
        else if (img.url && !finals.has(img.index)) finals.set(img.index, img.url);
      }
    } finally {
      stream.destroy();
    }
  } catch (e) {
    if (signal.aborted) throw client.errors.aborted();
    throw client.classifyNetwork(e);
  }
  const urls = [...finals.entries()].sort((a, b) => a[0] - b[0]).slice(0, max).map(([, u]) => u);
  const images = await Promise.all(urls.map((u) => downloadAsset(client, token, u, signal)));
  if (!images.length && moderated.size) throw mediaErrors.moderated('image');
  if (!images.length) throw mediaErrors.noResult('image');
  return { images, moderated: moderated.size };
}

/** One image edit on one account (G): upload v2 each input, then `mediaGenInput.imageToImage`. */
export async function editImage(client: GrokClient, token: string, prompt: string, inputs: EditInput[], aspectRatio: string | undefined, signal: AbortSignal): Promise<Buffer> {
  const ids: string[] = [];
  for (const f of inputs.slice(-MAX_EDIT_INPUTS)) ids.push((await uploadV2(client, token, f, signal)).fileId);
  const referer = `${client.origin}/imagine`;
  const { images } = await streamImages(client, token, imageToImagePayload(prompt, ids, aspectRatio), referer, signal, 1);
  return images[0]!;
}

/** Chat-path generation (`Drawing: `, docs/upstream-grok.md §7.2): up to two images per request. */
export async function drawImages(client: GrokClient, token: string, mode: string, prompt: string, signal: AbortSignal): Promise<{ images: Buffer[]; moderated: number }> {
  const referer = `${client.origin}/`;
  return streamImages(client, token, drawingPayload(prompt, mode, client.config.grok.temporary), referer, signal, 2);
}
