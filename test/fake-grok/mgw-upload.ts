import { admit, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';

/**
 * POST /http/upload-file-v2/direct (docs/upstream-grok.md §2.3): multipart/form-data with one
 * part `name="file"; filename=…` and the part's Content-Type. Answers the HEAD fixture shape
 * `{"uploadId","fileMetadata":{"fileMetadataId","fileUri"}}` and records the bytes in `fake.uploads`.
 */
export function handleUploadV2(state: FakeState, ex: Exchange & { raw?: Buffer }): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const type = String(ex.req.headers['content-type'] ?? '');
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  const raw = ex.raw;
  if (!type.startsWith('multipart/form-data') || !boundary || !raw) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const part = filePart(raw, boundary[1] ?? boundary[2]!);
  if (!part || part.bytes.length === 0) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const n = ++state.counters.file;
  const id = `file_${n}`;
  state.uploads.push({ id, fileName: part.fileName, mime: part.mime, bytes: part.bytes, token: acct.token });
  sendJson(ex.res, 200, { uploadId: `upload_${n}`, fileMetadata: { fileMetadataId: id, fileUri: `users/${acct.userId}/${id}/content` } });
}

/** The `file` part of a multipart body, bytes untouched. */
function filePart(body: Buffer, boundary: string): { fileName: string; mime: string; bytes: Buffer } | null {
  const delim = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delim);
  while (at >= 0) {
    const start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') return null;
    const headEnd = body.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return null;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return null;
    const head = body.subarray(start, headEnd).toString('utf8');
    if (/name="file"/i.test(head)) {
      const fileName = /filename="([^"]*)"/i.exec(head)?.[1] ?? '';
      const mime = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
      return { fileName, mime, bytes: Buffer.from(body.subarray(headEnd + 4, next)) };
    }
    at = next + 2;
  }
  return null;
}
