import type { Attachment, NeutralMessage } from '../core/intent.js';
import type { ErrorCode } from '../error-codes.js';
import { AppError } from '../errors.js';
import { FetchRefusedError, guardedFetch, type FetchPolicy } from '../lib/guarded-fetch.js';
import { acceptedFor, acceptedList, defaultName, sniffMime, type AttachmentKind } from '../lib/sniff.js';

/**
 * Non-text content parts → neutral `Attachment`s (docs/api-contract.md §4.2): `image_url`
 * (http(s) URL or data URI), `input_audio` (`{data, format}`), `file` (`file_data` as data URI or
 * bare base64 + `filename`, or `file_url`). Two steps, because fetching is async and request
 * planning is not: `attachmentSource` checks a part's shape while the request is planned (400
 * naming the part), `resolveAttachments` then decodes/fetches every source (remote URLs only
 * through the guarded fetcher), checks size and magic bytes, and fills `message.attachments`.
 * The Responses and Anthropic translators reuse `resolveAttachment` for their own part shapes.
 */

/** Where an attachment's bytes come from. `url` may be http(s) or a `data:` URI. */
export type AttachmentSource =
  | { kind: AttachmentKind; url: string; name?: string }
  | { kind: AttachmentKind; base64: string; mime?: string; name?: string };

/** A source waiting to be resolved, with the message it belongs to and the request path naming it. */
export interface AttachmentRef {
  message: NeutralMessage;
  source: AttachmentSource;
  /** e.g. `messages[1].content[0].image_url.url` */
  param: string;
}

export interface ResolveOptions {
  policy: FetchPolicy;
  /** security.max_attachments: at most this many per request (grok.com's web client allows 8). */
  maxAttachments: number;
}

const ATTACHMENT_PART_TYPES = new Set(['image_url', 'input_audio', 'file']);

/** Whether a Chat Completions content part type carries an attachment. */
export function isAttachmentPart(type: string): boolean {
  return ATTACHMENT_PART_TYPES.has(type);
}

const ERROR_CODE: Record<AttachmentKind, ErrorCode> = { image: 'invalid_image_url', audio: 'invalid_input_audio', file: 'invalid_file_url' };
const LABEL: Record<AttachmentKind, string> = { image: 'The image', audio: 'The audio', file: 'The file' };

/** A 400 for one attachment, saying why. */
export function attachmentError(kind: AttachmentKind, param: string, why: string): AppError {
  return new AppError(400, 'invalid_request_error', ERROR_CODE[kind], `${LABEL[kind]} at '${param}' ${why}.`, param);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** Checks one Chat Completions attachment part's shape (sync). `param` names the part, e.g. `messages[0].content[1]`. */
export function attachmentSource(part: Record<string, unknown>, param: string): { source: AttachmentSource; param: string } {
  if (part.type === 'image_url') {
    const v = part.image_url;
    const url = typeof v === 'string' ? v : isObj(v) ? v.url : undefined;
    const p = typeof v === 'string' ? `${param}.image_url` : `${param}.image_url.url`;
    if (!nonEmpty(url)) throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${p}'.`, p);
    return { source: { kind: 'image', url: url.trim() }, param: p };
  }
  if (part.type === 'input_audio') {
    const a = part.input_audio;
    const p = `${param}.input_audio.data`;
    if (!isObj(a) || !nonEmpty(a.data)) throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${p}'.`, p);
    const format = typeof a.format === 'string' ? a.format.toLowerCase() : 'wav';
    return { source: a.data.startsWith('data:') ? { kind: 'audio', url: a.data, name: `audio.${format}` } : { kind: 'audio', base64: a.data, name: `audio.${format}` }, param: p };
  }
  if (part.type === 'file') {
    const f = part.file;
    const p = `${param}.file`;
    if (!isObj(f)) throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${p}'.`, p);
    const name = nonEmpty(f.filename) ? f.filename.trim() : undefined;
    if (nonEmpty(f.file_data)) {
      const data = f.file_data.trim();
      return { source: data.startsWith('data:') ? { kind: 'file', url: data, name } : { kind: 'file', base64: data, name }, param: `${p}.file_data` };
    }
    const url = nonEmpty(f.file_url) ? f.file_url : nonEmpty(f.url) ? f.url : undefined;
    if (url) return { source: { kind: 'file', url: url.trim(), name }, param: `${p}.file_url` };
    if (f.file_id != null) {
      throw new AppError(400, 'invalid_request_error', 'unsupported_parameter', "Uploaded file references ('file_id') are not supported; send the file inline as 'file_data' or as 'file_url'.", `${p}.file_id`);
    }
    throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${p}.file_data' (or '${p}.file_url').`, `${p}.file_data`);
  }
  throw new AppError(400, 'invalid_request_error', 'unsupported_parameter', `Content part type '${String(part.type)}' is not supported.`, `${param}.type`);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Strict base64 (standard or URL-safe, whitespace ignored) → bytes; throws the part's 400 when it is not. */
function decodeBase64(text: string, kind: AttachmentKind, param: string, maxBytes: number): Buffer {
  const clean = /\s/.test(text) ? text.replace(/\s+/g, '') : text;
  if (Math.floor((clean.length * 3) / 4) > maxBytes + 2) throw attachmentError(kind, param, `is larger than ${mb(maxBytes)} MB (security.fetch_max_mb)`);
  if (!clean || !BASE64.test(clean)) throw attachmentError(kind, param, 'is not valid base64');
  return Buffer.from(clean, clean.includes('-') || clean.includes('_') ? 'base64url' : 'base64');
}

const mb = (bytes: number) => +(bytes / 1024 / 1024).toFixed(2);

/** `data:[<mime>][;base64],<payload>` → bytes (the declared MIME is ignored: bytes are sniffed). */
export function decodeDataUri(uri: string, kind: AttachmentKind, param: string, maxBytes: number): Buffer {
  const comma = uri.indexOf(',');
  if (!uri.startsWith('data:') || comma < 0) throw attachmentError(kind, param, 'is not a valid data URI (data:<type>;base64,<data>)');
  const meta = uri.slice(5, comma).toLowerCase();
  const payload = uri.slice(comma + 1);
  if (meta.split(';').includes('base64')) return decodeBase64(payload, kind, param, maxBytes);
  let bytes: Buffer;
  try {
    bytes = Buffer.from(decodeURIComponent(payload), 'utf8');
  } catch {
    throw attachmentError(kind, param, 'is not a valid data URI (bad percent-encoding)');
  }
  if (bytes.length > maxBytes) throw attachmentError(kind, param, `is larger than ${mb(maxBytes)} MB (security.fetch_max_mb)`);
  return bytes;
}

/** Decodes or fetches one source and checks its bytes. Throws the part's 400 for every refusal. */
export async function resolveAttachment(source: AttachmentSource, param: string, policy: FetchPolicy, signal?: AbortSignal): Promise<Attachment> {
  const { kind } = source;
  let data: Buffer;
  let name = source.name;
  if ('base64' in source) data = decodeBase64(source.base64, kind, param, policy.maxBytes);
  else if (source.url.startsWith('data:')) data = decodeDataUri(source.url, kind, param, policy.maxBytes);
  else {
    try {
      const fetched = await guardedFetch(source.url, policy, signal);
      data = fetched.data;
      name ??= decodeURIComponent(fetched.url.pathname.split('/').pop() ?? '') || undefined;
    } catch (e) {
      if (e instanceof FetchRefusedError) throw attachmentError(kind, param, `(${shortUrl(source.url)}) ${e.message}`);
      throw e;
    }
  }
  if (data.length === 0) throw attachmentError(kind, param, 'is empty');
  const mime = sniffMime(data, name ?? '');
  if (!mime || !acceptedFor(kind, mime)) {
    throw attachmentError(kind, param, `is not ${acceptedList(kind)} (${mime ? `its bytes are ${mime}` : 'its bytes match no known type'})`);
  }
  return { kind, mime, name: safeName(name, kind, mime), data };
}

/** Resolves every ref in parallel and attaches the results to their messages, in request order. */
export async function resolveAttachments(refs: readonly AttachmentRef[], opts: ResolveOptions, signal?: AbortSignal): Promise<void> {
  if (!refs.length) return;
  if (refs.length > opts.maxAttachments) {
    throw new AppError(400, 'invalid_request_error', 'too_many_attachments', `The request has ${refs.length} attachments; at most ${opts.maxAttachments} are allowed per request (security.max_attachments).`, 'messages');
  }
  const resolved = await Promise.all(refs.map((r) => resolveAttachment(r.source, r.param, opts.policy, signal)));
  refs.forEach((r, i) => (r.message.attachments ??= []).push(resolved[i]!));
}

/** The URL for an error message: origin and path, never a query string (it may hold a token). */
function shortUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const text = `${u.protocol}//${u.host}${u.pathname}`;
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return raw.slice(0, 60);
  }
}

/** A plain file name (no path, no control characters), with a fitting default. */
function safeName(name: string | undefined, kind: AttachmentKind, mime: string): string {
  const base = (name ?? '').split(/[\\/]/).pop()!.replace(/[\x00-\x1f\x7f"]/g, '').trim().slice(0, 200);
  return base || defaultName(kind, mime);
}
