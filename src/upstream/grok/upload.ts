import { randomBytes } from 'node:crypto';
import { readBounded } from '../http-client.js';
import type { GrokClient } from './client.js';
import { upstreamErrors } from './classify.js';

export interface UploadInput {
  /** File name shown to grok.com, e.g. `image.png`. */
  name: string;
  mime: string;
  data: Buffer;
}

export interface UploadedFile {
  /** Goes into the chat payload's `fileAttachments`. */
  fileId: string;
  /** Asset path of the stored file (may be empty when grok.com does not say). */
  fileUri: string;
}

/** Largest upload answer we read; the real one is a few hundred bytes of JSON. */
const MAX_ANSWER_BYTES = 256 * 1024;

/**
 * Uploads one attachment through `POST /rest/app-chat/upload-file` (JSON with base64 content,
 * docs/upstream-grok.md §2.3) with the account's cookie. Failures are classified like chat
 * failures, so the caller can move to another account. The whole request (headers and answer)
 * is bounded by `timeout.first_byte_sec`.
 */
export async function uploadFile(client: GrokClient, token: string, file: UploadInput, signal: AbortSignal): Promise<UploadedFile> {
  const url = client.url('/rest/app-chat/upload-file');
  const body = JSON.stringify({ fileName: file.name, fileMimeType: file.mime, content: file.data.toString('base64') });
  return send(client, token, url, client.headers(token), body, signal);
}

/**
 * Uploads one attachment through HEAD's `POST /http/upload-file-v2/direct` (multipart, one part
 * `file`; docs/upstream-grok.md §2.3), used with the mgw chat transport. Same headers as REST
 * minus `x-xai-request-id` (docs/upstream-grok.md §1.3); failures are classified like chat failures.
 */
export async function uploadFileV2(client: GrokClient, token: string, file: UploadInput, signal: AbortSignal): Promise<UploadedFile> {
  const url = client.url('/http/upload-file-v2/direct');
  const boundary = `----grok2api${randomBytes(12).toString('hex')}`;
  const name = file.name.replace(/["\r\n\\]/g, '_');
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${file.mime}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), file.data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const headers = client.headers(token, `multipart/form-data; boundary=${boundary}`);
  delete headers['x-xai-request-id'];
  return send(client, token, url, headers, body, signal);
}

/** One upload request, bounded by `timeout.first_byte_sec` as a whole. */
async function send(client: GrokClient, token: string, url: string, headers: Record<string, string>, body: string | Buffer, signal: AbortSignal): Promise<UploadedFile> {
  const t = client.timeouts;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, t.firstByteMs);
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) throw client.errors.aborted();
    const res = await client.request(url, { method: 'POST', account: token, headers, body, signal: controller.signal });
    const text = await readBounded(res.body, MAX_ANSWER_BYTES);
    if (res.statusCode < 200 || res.statusCode >= 300) throw client.classifyHttp(res.statusCode, text, res.headers);
    return parseAnswer(text, res.statusCode);
  } catch (e) {
    if (signal.aborted) throw client.errors.aborted();
    if (timedOut) throw client.errors.timeout(`upload not answered within ${t.firstByteMs / 1000} s; timeout.first_byte_sec`);
    throw client.classifyNetwork(e);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** `fileMetadataId` (P1/P2; under `fileMetadata` in HEAD) or `fileId`/`uploadId`, plus `fileUri`; a `terminalError` counts as failure. */
function parseAnswer(text: string, status: number): UploadedFile {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw upstreamErrors.badResponse('the upload answer is not JSON', status);
  }
  if (j && typeof j === 'object' && j.terminalError) throw upstreamErrors.badResponse('the upload was rejected (terminalError)', status);
  const meta = j && typeof j.fileMetadata === 'object' && j.fileMetadata ? (j.fileMetadata as Record<string, unknown>) : j;
  const id = [meta?.fileMetadataId, meta?.fileId, j?.fileMetadataId, j?.fileId, j?.uploadId].find((v) => typeof v === 'string' && v);
  if (typeof id !== 'string') throw upstreamErrors.badResponse('the upload answer has no file id', status);
  const uri = [meta?.fileUri, j?.fileUri].find((v) => typeof v === 'string');
  return { fileId: id, fileUri: typeof uri === 'string' ? uri : '' };
}
