import { readBounded } from '../http-client.js';
import type { GrokClient } from './client.js';
import { mediaErrors } from '../media-errors.js';

/**
 * Upload v2 (`POST /http/upload-file-v2/direct`, multipart; docs/upstream-grok.md §2.3,
 * G) and media posts (docs/upstream-grok.md §7.5). Imagine uploads carry `file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE`.
 */

export interface UploadedAsset {
  fileId: string;
  fileUri: string;
}

function safeFileName(name: string): string {
  const cleaned = name.replace(/[\r\n]/g, '').replace(/[\x00-\x1f\x7f]/g, '_').replace(/["\\]/g, '_');
  return cleaned || 'upload.bin';
}

async function post(client: GrokClient, token: string, url: string, headers: Record<string, string>, body: Buffer | string, signal: AbortSignal): Promise<Record<string, unknown>> {
  try {
    const res = await client.request(url, { method: 'POST', account: token, headers, body, signal });
    const text = await readBounded(res.body, 256 * 1024);
    if (res.statusCode < 200 || res.statusCode >= 300) throw client.classifyHttp(res.statusCode, text, res.headers);
    try {
      const j = JSON.parse(text) as unknown;
      if (j && typeof j === 'object' && !Array.isArray(j)) return j as Record<string, unknown>;
    } catch {
      // falls through
    }
    throw client.errors.badResponse('a media answer that is not a JSON object', res.statusCode);
  } catch (e) {
    if (signal.aborted) throw client.errors.aborted();
    throw client.classifyNetwork(e);
  }
}

export async function uploadV2(
  client: GrokClient,
  token: string,
  file: { name: string; mime: string; data: Buffer },
  signal: AbortSignal,
  imagine = true,
): Promise<UploadedAsset> {
  const boundary = `----g2a${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const parts: Buffer[] = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeFileName(file.name)}"\r\nContent-Type: ${file.mime}\r\n\r\n`),
    file.data,
    Buffer.from('\r\n'),
  ];
  if (imagine) parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file_source"\r\n\r\nIMAGINE_SELF_UPLOAD_FILE_SOURCE\r\n`));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const headers = client.headers(token, `multipart/form-data; boundary=${boundary}`);
  delete headers['x-xai-request-id']; // G omits it on this call
  headers.Referer = `${client.origin}/imagine`;
  const j = await post(client, token, client.url('/http/upload-file-v2/direct'), headers, Buffer.concat(parts), signal);
  const te = j.terminalError;
  if (te && typeof te === 'object' && Object.keys(te).length > 0) throw mediaErrors.uploadRejected();
  const meta = (j.fileMetadata && typeof j.fileMetadata === 'object' ? j.fileMetadata : {}) as Record<string, unknown>;
  const id = [meta.fileMetadataId, meta.fileId, j.uploadId].find((v) => typeof v === 'string' && v) as string | undefined;
  if (!id) throw client.errors.badResponse('the upload answer has no file id');
  return { fileId: id, fileUri: typeof meta.fileUri === 'string' ? meta.fileUri : '' };
}

/** `POST /rest/media/post/create` → the post id. */
export async function createMediaPost(client: GrokClient, token: string, body: Record<string, unknown>, signal: AbortSignal): Promise<string> {
  const headers = client.headers(token);
  headers.Referer = `${client.origin}/imagine`;
  const j = await post(client, token, client.url('/rest/media/post/create'), headers, JSON.stringify(body), signal);
  const postObj = j.post as Record<string, unknown> | undefined;
  if (!postObj || typeof postObj.id !== 'string') throw client.errors.badResponse('the media post answer has no post id');
  return postObj.id;
}
