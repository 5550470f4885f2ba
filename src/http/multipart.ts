import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, errors } from '../errors.js';
import { countRawBytes } from './body-limit.js';

/** Per-file cap of multipart uploads (docs/api-contract.md §5.4). */
export const MAX_FILE_BYTES = 50 * 1024 * 1024;
export const MAX_FILES = 16;

export interface UploadedPart {
  field: string;
  filename: string;
  data: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: UploadedPart[];
}

/** security.max_body_mb as it was when each multipart request arrived. */
const bodyLimitMb = new WeakMap<FastifyRequest, number>();

/**
 * Registers @fastify/multipart in the given (route-local) scope: JSON routes elsewhere are
 * unaffected. A body announced larger than `security.max_body_mb` is refused before it is read;
 * one that turns out larger while it is read (chunked) is cut off by readMultipart.
 */
export async function enableMultipart(scope: FastifyInstance, maxBodyMb: () => number): Promise<void> {
  await scope.register(multipart, { limits: { fileSize: MAX_FILE_BYTES, files: MAX_FILES, fields: 64, fieldSize: 1024 * 1024, parts: MAX_FILES + 64 } });
  scope.addHook('onRequest', async (req) => {
    const mb = maxBodyMb();
    bodyLimitMb.set(req, mb);
    const len = Number(req.headers['content-length'] ?? 0);
    if (req.isMultipart() && len > mb * 1024 * 1024) throw errors.payloadTooLarge(mb);
  });
}

/** Reads every part into memory (bounded by the limits above); errors become OpenAI-shaped. */
export async function readMultipart(req: FastifyRequest): Promise<MultipartBody> {
  const out: MultipartBody = { fields: {}, files: [] };
  const mb = bodyLimitMb.get(req) ?? Infinity;
  try {
    const parts = req.parts()[Symbol.asyncIterator]();
    // The first next() starts busboy, which pipes req.raw from now on; count those bytes too.
    let next = parts.next();
    const overLimit = countRawBytes(req.raw, mb * 1024 * 1024, () => errors.payloadTooLarge(mb));
    overLimit.catch(() => {});
    for (let r = await Promise.race([next, overLimit]); !r.done; r = await Promise.race([next, overLimit])) {
      const part = r.value;
      if (part.type === 'file') {
        const data = await Promise.race([part.toBuffer(), overLimit]);
        out.files.push({ field: part.fieldname, filename: part.filename, data });
      } else {
        out.fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value);
      }
      next = parts.next();
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError(413, 'invalid_request_error', 'payload_too_large', 'A file is larger than 50 MB; each uploaded file may be at most 50 MB.');
    if (code === 'FST_FILES_LIMIT') throw new AppError(400, 'invalid_request_error', 'invalid_value', `Too many files: at most ${MAX_FILES} images per request.`, 'image');
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw new AppError(413, 'invalid_request_error', 'payload_too_large', 'Too many form fields.');
    if (code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') throw errors.unsupportedMediaType('Send multipart/form-data.');
    if (err instanceof AppError) throw err;
    throw new AppError(400, 'invalid_request_error', 'invalid_multipart', 'The multipart/form-data body could not be read; check the boundary and part headers.');
  }
  return out;
}
