import { readBounded } from '../../http-client.js';
import { assetUrl } from '../assets.js';
import type { GrokClient } from '../client.js';
import { parseFrames } from '../frames.js';
import { mediaErrors } from '../../media-errors.js';
import { createMediaPost, uploadV2 } from '../media-upload.js';
import type { UpstreamError } from '../../../errors.js';
import { imagePostPayload, imageToVideoPayload, legacyTextToVideoPayload, readVideoFrame, textToVideoPayload, videoPostPayload, type VideoRequest } from './payload.js';

export interface VideoResult {
  /** Asset path or URL of the MP4. */
  videoUrl: string;
  thumbnailUrl: string | null;
}

export interface VideoImageInput {
  name: string;
  mime: string;
  data: Buffer;
}

/**
 * One video generation on one account, in the payload generation `video.generation` names:
 * "2026-08" sends `textToVideo` (and refuses an image at once); "legacy" creates a media post
 * (image: upload v2 first) and sends `videoGenModelConfig` under it. Then `conversations/new` →
 * progress frames → the final URL. `onProgress` gets every rise. Failures are classified
 * (`UpstreamError`); moderation and a refused image form fail without retry.
 */
export async function generateVideo(
  client: GrokClient,
  token: string,
  req: VideoRequest,
  image: VideoImageInput | null,
  signal: AbortSignal,
  onProgress: (p: number) => void,
): Promise<VideoResult> {
  let payload: Record<string, unknown>;
  let referer = `${client.origin}/imagine`;
  const legacy = client.config.video.generation === 'legacy';
  if (image && !legacy) throw mediaErrors.imageToVideoUnavailable();
  if (!image && legacy) {
    const postId = await createMediaPost(client, token, videoPostPayload(req.prompt), signal);
    payload = legacyTextToVideoPayload(req, postId);
  } else if (image) {
    const up = await uploadV2(client, token, image, signal);
    const ref = assetUrl(client, up.fileUri || `users/-/${up.fileId}/content`);
    const postId = await createMediaPost(client, token, imagePostPayload(ref), signal);
    payload = imageToVideoPayload(req, postId, [ref]);
    referer = `${referer}/post/${postId}`;
  } else {
    payload = textToVideoPayload(req);
  }
  const headers = client.headers(token);
  headers.Referer = referer;
  let body: NodeJS.ReadableStream | null = null;
  try {
    const res = await client.request(client.url('/rest/app-chat/conversations/new'), { method: 'POST', account: token, stream: true, headers, body: JSON.stringify(payload), signal });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw client.classifyHttp(res.statusCode, await readBounded(res.body), res.headers);
    }
    const stream = res.body;
    body = stream;
    let last = 0;
    let moderated = false;
    for await (const frame of parseFrames(stream)) {
      const f = frame as Record<string, any>;
      if (f?.error) throw client.classifyFrame(f.error);
      if (f?.result?.response?.error) throw client.classifyFrame(f.result.response.error);
      const v = readVideoFrame(frame);
      if (!v) continue;
      if (v.progress !== undefined && v.progress > last) {
        last = Math.min(100, v.progress);
        onProgress(last);
      }
      if (v.moderated) moderated = true;
      if (v.videoUrl && !v.moderated) {
        (stream as { destroy(): void }).destroy();
        return { videoUrl: v.videoUrl, thumbnailUrl: v.thumbnailUrl ?? null };
      }
    }
    if (moderated) throw mediaErrors.moderated('video');
    throw mediaErrors.noResult('video');
  } catch (e) {
    (body as { destroy?: () => void } | null)?.destroy?.();
    if (signal.aborted) throw client.errors.aborted();
    const err = client.classifyNetwork(e);
    throw image && refusedForm(err) ? mediaErrors.imageToVideoRefused(saidOf(err)) : err;
  }
}

/** A 4xx that is about the request, not the account: how grok.com turns down a payload it no longer takes. */
function refusedForm(e: UpstreamError): boolean {
  return e.upstreamStatus >= 400 && e.upstreamStatus < 500 && e.upstreamStatus !== 429 && e.effect === 'none' && e.code !== 'upstream_anti_bot' && e.code !== 'content_policy_violation';
}

function saidOf(e: UpstreamError): string {
  const m = /\(upstream said: [^)]*\)/.exec(e.message);
  return m ? ` ${m[0]}` : ` (HTTP ${e.upstreamStatus})`;
}
