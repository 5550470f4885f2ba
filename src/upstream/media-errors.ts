import { UpstreamError } from '../errors.js';

/**
 * Media-specific failures of any provider, classified like the chat ones (grok/classify.ts): whether another account
 * could do better (`retry-other`) and what it says about the account.
 */
export const mediaErrors = {
  /** grok.com generated but blocked the result: the prompt is the problem, not the account. */
  moderated: (what: string) =>
    new UpstreamError(400, 'content_policy_violation', `grok.com blocked the generated ${what} under its content policy. Rephrase the prompt.`, 'fail', 'none', 200),
  /** The stream ended without a usable result. */
  noResult: (what: string) =>
    new UpstreamError(502, 'upstream_bad_response', `grok.com finished without a usable ${what}. Retry the request.`, 'retry-other', 'none', 200),
  /** Imagine WebSocket error frame (`err_code`/`err_msg`). */
  imagineFrame: (code: string, msg: string) =>
    /rate_limit/i.test(code) || /rate limit/i.test(msg)
      ? new UpstreamError(429, 'upstream_rate_limited', `grok.com rate-limited image generation for the account (upstream said: ${msg.slice(0, 200)}).`, 'retry-other', 'cooldown', 200)
      : new UpstreamError(502, 'upstream_stream_error', `grok.com reported an image generation error (upstream said: ${code}: ${msg.slice(0, 200)}).`, 'retry-other', 'none', 200),
  /** Image to video while `video.generation` is "2026-08": grok.com's web client has none. */
  imageToVideoUnavailable: () =>
    new UpstreamError(
      400,
      'image_to_video_unsupported',
      'grok.com makes videos from text only since 2026-08-20 (video.generation = "2026-08"); send the request without an image, or set video.generation = "legacy" to try the older image-to-video form.',
      'fail',
      'none',
    ),
  /** grok.com refused the legacy image-to-video form: not the account's fault, so no retry elsewhere. */
  imageToVideoRefused: (said: string) =>
    new UpstreamError(400, 'image_to_video_unsupported', `grok.com refused to make a video from an image${said}; it makes videos from text only now. Send the request without an image.`, 'fail', 'none', undefined, 400),
  /** The leased provider lacks this capability (a model listing a provider that cannot serve it). */
  unsupported: (what: string) => new UpstreamError(400, 'unsupported_parameter', `This server has no ${what}; use a model another provider serves.`, 'fail', 'none'),
  /** The upload was refused (`terminalError`). */
  uploadRejected: () => new UpstreamError(400, 'invalid_image', 'grok.com rejected the uploaded image. Send a PNG, JPEG or WebP image.', 'fail', 'none', 200),
};
