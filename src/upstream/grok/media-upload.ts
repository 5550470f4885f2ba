import type { GrokTransport } from './transport/index.js';
import type { Config } from '../../config/schema.js';
import { readBounded, upstreamTimeouts } from '../http-client.js';
import { classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import { buildGrokHeaders } from './headers.js';
import { mediaErrors } from '../media-errors.js';

/**
 * Upload v2 (`POST /http/upload-file-v2/direct`, multipart; spec/upstream-media-control.md §2.2,
 * G) and media posts (§2.6). Imagine uploads carry `file_source=IMAGINE_SELF_UPLOAD_FILE_SOURCE`.
 */

export interface UploadedAsset {
  fileId: string;
  fileUri: string;
}

function safeFileName(name: string): string {
  const cleaned = name.replace(/[\r\n]/g, '').replace(/[\x00-\x1f\x7f]/g, '_').replace(/["\\]/g, '_');
  return cleaned || 'upload.bin';
}

async function post(config: Config, http: GrokTransport, token: string, url: string, headers: Record<string, string>, body: Buffer | string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const t = upstreamTimeouts(config);
  try {
    const res = await http.request(url, { method: 'POST', account: token, headers, body, signal, headersTimeout: t.firstByteMs, bodyTimeout: t.idleMs });
    const text = await readBounded(res.body, 256 * 1024);
    if (res.statusCode < 200 || res.statusCode >= 300) throw classifyHttp(res.statusCode, text, res.headers);
    try {
      const j = JSON.parse(text) as unknown;
      if (j && typeof j === 'object' && !Array.isArray(j)) return j as Record<string, unknown>;
    } catch {
      // falls through
    }
    throw upstreamErrors.badResponse('a media answer that is not a JSON object', res.statusCode);
  } catch (e) {
    if (signal.aborted) throw upstreamErrors.aborted();
    throw classifyNetwork(e);
  }
}

export async function uploadV2(
  config: Config,
  http: GrokTransport,
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
  const headers = buildGrokHeaders(config.grok, token, `multipart/form-data; boundary=${boundary}`);
  delete headers['x-xai-request-id']; // G omits it on this call
  headers.Referer = `${new URL(config.grok.base_url).origin}/imagine`;
  const url = `${config.grok.base_url.replace(/\/+$/, '')}/http/upload-file-v2/direct`;
  const j = await post(config, http, token, url, headers, Buffer.concat(parts), signal);
  const te = j.terminalError;
  if (te && typeof te === 'object' && Object.keys(te).length > 0) throw mediaErrors.uploadRejected();
  const meta = (j.fileMetadata && typeof j.fileMetadata === 'object' ? j.fileMetadata : {}) as Record<string, unknown>;
  const id = [meta.fileMetadataId, meta.fileId, j.uploadId].find((v) => typeof v === 'string' && v) as string | undefined;
  if (!id) throw upstreamErrors.badResponse('the upload answer has no file id');
  return { fileId: id, fileUri: typeof meta.fileUri === 'string' ? meta.fileUri : '' };
}

/** `POST /rest/media/post/create` → the post id. */
export async function createMediaPost(config: Config, http: GrokTransport, token: string, body: Record<string, unknown>, signal: AbortSignal): Promise<string> {
  const headers = buildGrokHeaders(config.grok, token);
  headers.Referer = `${new URL(config.grok.base_url).origin}/imagine`;
  const j = await post(config, http, token, `${config.grok.base_url.replace(/\/+$/, '')}/rest/media/post/create`, headers, JSON.stringify(body), signal);
  const postObj = j.post as Record<string, unknown> | undefined;
  if (!postObj || typeof postObj.id !== 'string') throw upstreamErrors.badResponse('the media post answer has no post id');
  return postObj.id;
}
