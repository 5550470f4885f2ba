/**
 * Every `error.code` this server answers with, and its HTTP status(es). The one list: AppError
 * accepts only these codes (a new one fails to compile until it is added here), and
 * test/unit/error-codes.test.ts checks the README's error table against it, both ways.
 */
export const ERROR_CODES = {
  // The request itself.
  invalid_json: [400],
  missing_required_parameter: [400],
  invalid_value: [400],
  unsupported_parameter: [400],
  /** Malformed HTTP (bad Content-Length, unparsable request line) or another 4xx from Fastify's own checks. */
  invalid_request: [400],
  invalid_multipart: [400],
  setting_not_editable: [400],
  // Attachments and media input.
  invalid_image_url: [400],
  invalid_input_audio: [400],
  invalid_file_url: [400],
  too_many_attachments: [400],
  invalid_image: [400],
  image_to_video_unsupported: [400],
  empty_prompt: [400],
  content_policy_violation: [400],
  // Who is calling.
  invalid_api_key: [401],
  invalid_admin_key: [401],
  invalid_password: [401],
  model_not_allowed: [403],
  // What was asked for.
  model_not_found: [404],
  not_found: [404],
  task_not_found: [404],
  request_timeout: [408],
  task_finished: [409],
  video_not_ready: [409],
  payload_too_large: [413],
  unsupported_media_type: [415],
  range_not_satisfiable: [416],
  headers_too_large: [431],
  // Limits and capacity.
  rate_limit_exceeded: [429],
  no_available_tokens: [429],
  upstream_rate_limited: [429],
  upstream_quota_exhausted: [429],
  /** Internal only: the client is gone, so nobody receives it. */
  client_disconnected: [499],
  internal_error: [500],
  // grok.com.
  upstream_auth_failed: [502],
  upstream_anti_bot: [502],
  upstream_forbidden: [502],
  upstream_unavailable: [502],
  upstream_unreachable: [502],
  upstream_bad_response: [502],
  upstream_stream_error: [502],
  upstream_empty_answer: [502],
  upstream_degraded_answer: [502],
  invalid_json_output: [502],
  upstream_timeout: [504],
  // This server's own dependencies.
  no_accounts: [503],
  store_unavailable: [503],
  /** In-band only: a stream still running when the shutdown grace period ran out. */
  server_shutting_down: [503],
} as const satisfies Record<string, readonly number[]>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes a client can actually receive (client_disconnected goes to nobody). */
export const CLIENT_VISIBLE_CODES = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => c !== 'client_disconnected');
