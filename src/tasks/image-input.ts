import { readFile } from 'node:fs/promises';
import { AppError } from '../errors.js';
import type { MediaCache } from '../media/cache.js';
import { checkUrlShape, FetchRefusedError, guardedFetch, type FetchPolicy } from '../lib/guarded-fetch.js';
import { sniffMedia } from '../media/sniff.js';

/** Largest reference image accepted, in bytes (same cap as /v1/images/edits). */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

const CACHE_REF = /^cache:image\/([0-9a-f]{32}\.(?:png|jpg|webp|gif))$/;
const OWN_FILE = /\/v1\/files\/image\/([0-9a-f]{32}\.(?:png|jpg|webp|gif))(?:[?#].*)?$/;

export const invalidImageUrl = (detail: string) =>
  new AppError(400, 'invalid_request_error', 'invalid_image_url', `Invalid image_url: ${detail}. Send an https URL, a data:image/…;base64 URI, or the image_url returned by POST /v1/video/upload.`, 'image_url');

/**
 * Normalises a task's reference image at creation, so a task never stores megabytes of base64:
 * a data URI is checked and put into the media cache, this server's own /v1/files/image URL is
 * checked to exist; both become `cache:image/<id>`. Other http(s) URLs are kept and fetched when
 * the task runs.
 */
export async function normaliseImageRef(cache: MediaCache, url: string): Promise<string> {
  const own = OWN_FILE.exec(url);
  if (own) {
    if (!cache.path('image', own[1]!)) throw invalidImageUrl('that uploaded image is no longer in the media cache');
    return `cache:image/${own[1]}`;
  }
  if (url.startsWith('data:')) {
    const m = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
    if (!m || !m[2]) throw invalidImageUrl('only base64 data URIs are supported');
    const bytes = Buffer.from(m[3]!, 'base64');
    if (bytes.length > MAX_IMAGE_BYTES) throw new AppError(413, 'invalid_request_error', 'payload_too_large', 'The image is larger than 50 MB.', 'image_url');
    if (!sniffMedia(bytes)?.mime.startsWith('image/')) throw invalidImageUrl('the data is not a PNG, JPEG, WebP or GIF image');
    return `cache:image/${await cache.put('image', bytes)}`;
  }
  try {
    checkUrlShape(url);
  } catch (err) {
    throw invalidImageUrl(err instanceof Error ? err.message : 'not an http(s) URL or data URI');
  }
  return url;
}

/** The image bytes for a normalised reference (fetched for plain URLs, bounded in size and time). */
export async function loadImageRef(cache: MediaCache, ref: string, signal: AbortSignal, policy: FetchPolicy): Promise<{ name: string; mime: string; data: Buffer }> {
  const c = CACHE_REF.exec(ref);
  let data: Buffer;
  if (c) {
    const p = cache.path('image', c[1]!);
    if (!p) throw invalidImageUrl('the referenced image is no longer in the media cache');
    data = await readFile(p);
  } else {
    // Client-given URL: the guarded fetch refuses private addresses, bounds size and time.
    try {
      data = (await guardedFetch(ref, policy, signal)).data;
    } catch (err) {
      if (signal.aborted) throw err;
      throw invalidImageUrl(err instanceof FetchRefusedError ? err.message : 'it could not be downloaded');
    }
  }
  const type = sniffMedia(data);
  if (!type?.mime.startsWith('image/')) throw invalidImageUrl('the content is not a PNG, JPEG, WebP or GIF image');
  return { name: `image.${type.ext}`, mime: type.mime, data };
}
