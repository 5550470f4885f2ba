import type { ErrorCode } from './error-codes.js';
import type { AccountEffect, AnswerQuality } from './store/types.js';

/** The OpenAI error envelope's `type` values this server uses. */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'server_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: ErrorCode | null };
}

/**
 * Every error a client may see. Carries the HTTP status, the OpenAI envelope fields and an
 * optional Retry-After. Messages say what was wrong and what to do; never a token or a stack.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    /** One of the codes in error-codes.ts (the README's error table lists the same). */
    readonly code: ErrorCode | null,
    message: string,
    readonly param: string | null = null,
    /** Seconds, sent as `Retry-After`. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export type Disposition = 'retry-other' | 'retry-same' | 'fail';

/** The envelope type for an upstream failure's client status (docs/api-contract.md §9.2). */
function upstreamErrorType(status: number): ErrorType {
  if (status === 429) return 'rate_limit_error';
  if (status === 403) return 'permission_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'upstream_error';
}

/**
 * An upstream failure after classification (see upstream/grok/classify.ts): what the client
 * should see if no retry helps, whether to retry, and what it says about the account.
 */
export class UpstreamError extends AppError {
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    readonly disposition: Disposition,
    readonly effect: AccountEffect,
    readonly retryAfterMs?: number,
    /** HTTP status the upstream answered with (0 for network errors, 200 for in-band errors). */
    readonly upstreamStatus = 0,
    /** Set when grok.com answered 200 but the answer was degraded (counted on the account). */
    readonly quality?: AnswerQuality,
  ) {
    super(status, upstreamErrorType(status), code, message);
    this.name = 'UpstreamError';
  }
}

export const errors = {
  invalidJson: (detail: string) =>
    new AppError(400, 'invalid_request_error', 'invalid_json', `We could not parse the JSON body of your request: ${detail}. Send a valid JSON object.`),
  missing: (param: string) =>
    new AppError(400, 'invalid_request_error', 'missing_required_parameter', `Missing required parameter: '${param}'.`, param),
  invalidValue: (param: string, message: string) =>
    new AppError(400, 'invalid_request_error', 'invalid_value', message, param),
  modelNotFound: (model: string) =>
    new AppError(404, 'invalid_request_error', 'model_not_found', `The model \`${model}\` does not exist. GET /v1/models lists the available models.`, 'model'),
  notFound: (what: string) => new AppError(404, 'invalid_request_error', 'not_found', what),
  invalidApiKey: () =>
    new AppError(401, 'authentication_error', 'invalid_api_key', 'Incorrect or missing API key. Send it as `Authorization: Bearer <key>` or `x-api-key: <key>`.'),
  adminAuth: () =>
    new AppError(401, 'authentication_error', 'invalid_admin_key', 'Admin authentication required: log in at POST /admin/api/login or send `Authorization: Bearer <APP_KEY>`.'),
  payloadTooLarge: (limitMb: number) =>
    new AppError(413, 'invalid_request_error', 'payload_too_large', `Request body is larger than the ${limitMb} MB limit (security.max_body_mb).`),
  unsupportedMediaType: (message: string) => new AppError(415, 'invalid_request_error', 'unsupported_media_type', message),
  noAccounts: (tier: string) =>
    new AppError(503, 'server_error', 'no_accounts', `No account of tier '${tier}' or higher is in the pool. Import one through the admin API (POST /admin/api/tokens).`),
  noAvailableTokens: (retryAfterSec: number) =>
    new AppError(429, 'rate_limit_error', 'no_available_tokens', `Every eligible account is busy, cooling down or out of quota. Retry after ${retryAfterSec} s.`, null, retryAfterSec),
  providerNotAllowed: (model: string) =>
    new AppError(403, 'permission_error', 'model_not_allowed', `Your API key may not use any of the providers that serve \`${model}\`.`, 'model'),
  internal: () => new AppError(500, 'server_error', 'internal_error', 'The server hit an unexpected error. It has been logged; retry the request.'),
};

/** Converts anything thrown into an AppError without leaking internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return errors.internal();
}
