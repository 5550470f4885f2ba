import { randomBytes } from 'node:crypto';
import type { GrokTransport } from './transport/index.js';
import type { Config } from '../../config/schema.js';
import { readBounded, upstreamTimeouts } from '../http-client.js';
import { classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import { buildGrokHeaders } from './headers.js';

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
 * spec/upstream-chat.md §2.6) with the account's cookie. Failures are classified like chat
 * failures, so the caller can move to another account. The whole request (headers and answer)
 * is bounded by `timeout.first_byte_sec`.
 */
export async function uploadFile(config: Config, http: GrokTransport, token: string, file: UploadInput, signal: AbortSignal): Promise<UploadedFile> {
  const url = `${config.grok.base_url.replace(/\/+$/, '')}/rest/app-chat/upload-file`;
  const body = JSON.stringify({ fileName: file.name, fileMimeType: file.mime, content: file.data.toString('base64') });
  return send(config, http, token, url, buildGrokHeaders(config.grok, token), body, signal);
}

/**
 * Uploads one attachment through HEAD's `POST /http/upload-file-v2/direct` (multipart, one part
 * `file`; spec/upstream-chat.md §2.6), used with the mgw chat transport. Same headers as REST
 * minus `x-xai-request-id` (§1.3); failures are classified like chat failures.
 */
export async function uploadFileV2(config: Config, http: GrokTransport, token: string, file: UploadInput, signal: AbortSignal): Promise<UploadedFile> {
  const url = `${config.grok.base_url.replace(/\/+$/, '')}/http/upload-file-v2/direct`;
  const boundary = `----grok2api${randomBytes(12).toString('hex')}`;
  const name = file.name.replace(/["\r\n\\]/g, '_');
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${file.mime}\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head, 'utf8'), file.data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const headers = buildGrokHeaders(config.grok, token, `multipart/form-data; boundary=${boundary}`);
  delete headers['x-xai-request-id'];
  return send(config, http, token, url, headers, body, signal);
}

/** One upload request, bounded by `timeout.first_byte_sec` as a whole. */
async function send(config: Config, http: GrokTransport, token: string, url: string, headers: Record<string, string>, body: string | Buffer, signal: AbortSignal): Promise<UploadedFile> {
  const t = upstreamTimeouts(config);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, t.firstByteMs);
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) throw upstreamErrors.aborted();
    const res = await http.request(url, {
      method: 'POST',
      account: token,
      headers,
      body,
      signal: controller.signal,
      headersTimeout: t.firstByteMs,
      bodyTimeout: t.idleMs,
    });
    const text = await readBounded(res.body, MAX_ANSWER_BYTES);
    if (res.statusCode < 200 || res.statusCode >= 300) throw classifyHttp(res.statusCode, text, res.headers);
    return parseAnswer(text, res.statusCode);
  } catch (e) {
    if (signal.aborted) throw upstreamErrors.aborted();
    if (timedOut) throw upstreamErrors.timeout(`upload not answered within ${t.firstByteMs / 1000} s; timeout.first_byte_sec`);
    throw classifyNetwork(e);
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
