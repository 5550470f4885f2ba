import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errors, toAppError } from '../errors.js';

/** Fastify's own errors (body parsing, limits) in the OpenAI envelope. */
export function fromFastify(err: FastifyError, maxBodyMb: number): AppError | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(maxBodyMb);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidJson(err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty' : 'it is not valid JSON');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(`Unsupported Content-Type '${err.message.split("'")[1] ?? ''}'. Send application/json.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(400, 'invalid_request_error', 'invalid_request', 'The Content-Length header does not match the body.');
  }
  if (err instanceof SyntaxError || (err as { type?: string }).type === 'entity.parse.failed') return errors.invalidJson('it is not valid JSON');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError(err.statusCode, 'invalid_request_error', 'invalid_request', err.message);
  }
  return null;
}

/**
 * Every error leaves in the OpenAI envelope, with Retry-After when known. Unexpected errors are
 * logged with their stack on the server and answered with a generic 500: no internals, no secrets.
 */
export function installErrorHandlers(app: FastifyInstance, maxBodyMb: () => number): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    let appErr = err instanceof AppError ? err : fromFastify(err, maxBodyMb());
    if (!appErr) {
      req.log.error({ err }, 'unhandled error');
      appErr = toAppError(err);
    }
    if (appErr.retryAfterSec !== undefined) reply.header('retry-after', String(appErr.retryAfterSec));
    if (appErr.status === 413) reply.header('connection', 'close');
    return reply.status(appErr.status).send(appErr.toBody());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = errors.notFound(`Unknown route: ${req.method} ${req.url.split('?')[0]}. See the README for the endpoints this server offers.`);
    return reply.status(404).send(e.toBody());
  });
}
