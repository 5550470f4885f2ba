import type { Exchange, FakeState } from './exchange.js';
import { admit, jsonObject } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';

/**
 * Generated and uploaded files of the fake (docs/upstream-grok.md §2.3, §7.5, §7.6):
 * `GET <assets>/users/<uid>/…` serves bytes only to the owning account's sso cookie (like
 * assets.grok.com, which answers 403 without it), upload v2 stores multipart files, and media
 * posts hand out ids.
 */

export interface Asset {
  bytes: Buffer;
  mime: string;
  /** The sso token allowed to download it. */
  owner: string;
}

export interface MediaState {
  assets: Map<string, Asset>;
  counter: number;
}

const states = new WeakMap<FakeState, MediaState>();

export function mediaState(state: FakeState): MediaState {
  let m = states.get(state);
  if (!m) {
    m = { assets: new Map(), counter: 0 };
    states.set(state, m);
  }
  return m;
}

/** Stores a generated file; returns its asset path (no leading slash). */
export function addAsset(state: FakeState, path: string, asset: Asset): string {
  mediaState(state).assets.set('/' + path, asset);
  return path;
}

export function assetPathOf(url: string): string {
  return url.replace(/^https?:\/\/[^/]+/, '');
}

/** GET /users/… : the bytes, to the owner only. */
export function handleAssetGet(state: FakeState, ex: Exchange, path: string): void {
  const asset = mediaState(state).assets.get(path);
  const token = ex.rec.token;
  if (!token || state.accounts.get(token).behavior.state === 'invalid') return sendJson(ex.res, 401, ERROR_BODIES.invalidCredentials);
  if (!asset) return sendJson(ex.res, 404, ERROR_BODIES.notFound);
  if (asset.owner !== token) return sendJson(ex.res, 403, { error: { code: 7, message: 'Forbidden', details: [] } });
  ex.res.writeHead(200, { 'content-type': asset.mime, 'content-length': asset.bytes.length });
  ex.res.end(asset.bytes);
}

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer;
}

/** A small multipart/form-data parser (enough for upload v2's two parts). */
export function parseMultipart(raw: Buffer, contentType: string | undefined): Part[] | null {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!m) return null;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Part[] = [];
  let pos = raw.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (raw.subarray(start, start + 2).toString() === '--') break;
    const headEnd = raw.indexOf('\r\n\r\n', start);
    if (headEnd === -1) return null;
    const next = raw.indexOf(delim, headEnd);
    if (next === -1) return null;
    const head = raw.subarray(start + 2, headEnd).toString('utf8');
    const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim();
    parts.push({ name, filename, type, data: raw.subarray(headEnd + 4, next - 2) });
    pos = next;
  }
  return parts;
}

/** POST /http/upload-file-v2/direct (multipart `file` [+ `file_source`]). */
export function handleUploadV2(state: FakeState, ex: Exchange, raw: Buffer): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const parts = parseMultipart(raw, ex.req.headers['content-type']);
  const file = parts?.find((p) => p.name === 'file' && p.filename !== undefined);
  if (!file || file.data.length === 0) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const id = `file_${++state.counters.file}`;
  const mime = file.type ?? 'application/octet-stream';
  state.uploads.push({ id, fileName: file.filename!, mime, bytes: Buffer.from(file.data), token: acct.token });
  const fileUri = addAsset(state, `users/${acct.userId}/${id}/content`, { bytes: Buffer.from(file.data), mime, owner: acct.token });
  sendJson(ex.res, 200, { uploadId: `upload-${id}`, fileMetadata: { fileMetadataId: id, fileUri } });
}

/** POST /rest/media/post/create → {post: {id}}. */
export function handleMediaPost(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const body = jsonObject(ex);
  if (!body || typeof body.mediaType !== 'string') return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const id = `post-${++mediaState(state).counter}`;
  sendJson(ex.res, 200, { post: { id, prompt: body.prompt ?? '', originalPrompt: body.prompt ?? '', mediaUrl: body.mediaUrl ?? '' } });
}
