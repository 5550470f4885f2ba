import { setTimeout as sleep } from 'node:timers/promises';
import { addAsset } from './assets.js';
import { admit, jsonObject, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';
import { makeMp4 } from './media-fixtures.js';

/**
 * Video generation on `conversations/new` (docs/upstream-grok.md §7.4):
 * `mediaGenInput.textToVideo` (current) or, only while the fake plays a grok.com from before
 * 2026-08-20 (`videoGeneration = 'legacy'`), `videoGenModelConfig` with a media post as parent
 * (+ `imageReferences` for image to video). Today's grok.com refuses that form with a 400. Streams `streamingVideoGenerationResponse` frames with rising progress, then the final
 * `videoUrl` of a real MP4 stored as an asset of the account. Variants by prompt marker:
 * `[moderated]` ends moderated without a URL, `[slow]` takes ~12 s (for cancellation tests),
 * `[fail]` sends an in-band error frame. A client that stops a generation closes the stream, which
 * the recorder reports as `clientAborted`.
 */

const line = (response: Record<string, unknown>) => JSON.stringify({ result: { response } }) + '\n';

/** Today's answer to the older video payloads (the web client makes videos from text only). */
export const VIDEO_FORM_REFUSED = JSON.stringify({ error: { code: 3, message: 'videoGenModelConfig is not supported; use mediaGenInput.textToVideo', details: [] } });

export function isVideoPayload(body: Record<string, any>): boolean {
  return Boolean(body.mediaGenInput?.textToVideo) || body.modelName === 'imagine-video-gen';
}

export async function handleVideo(state: FakeState, ex: Exchange): Promise<void> {
  const acct = admit(state, ex, true);
  if (!acct) return;
  const body = jsonObject(ex)!;
  const t2v = body.mediaGenInput?.textToVideo;
  const cfg = body.responseMetadata?.modelConfigOverride?.modelMap?.videoGenModelConfig;
  const prompt: string = t2v?.prompt ?? String(body.message ?? '').replace(/\s*--mode=\S+$/, '');
  if (!t2v && cfg && state.videoGeneration !== 'legacy') return sendJson(ex.res, 400, VIDEO_FORM_REFUSED);
  // The shapes a client must send (checked like grok.com rejects an outdated client).
  const valid = t2v
    ? typeof t2v.prompt === 'string' && typeof t2v.aspectRatio === 'string' && typeof t2v.duration === 'number' && /^(480p|720p)$/.test(t2v.resolutionName)
    : cfg && typeof cfg.parentPostId === 'string' && cfg.parentPostId !== '' && (cfg.imageReferences === undefined || (Array.isArray(cfg.imageReferences) && cfg.imageReferences.length > 0));
  if (!valid) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  state.accounts.consumeImagine(acct.token, (t2v?.resolutionName ?? cfg?.resolutionName) === '720p' ? 'video720p' : 'video');

  const n = ++state.counters.turn;
  const videoId = `video_${n}`;
  const slow = prompt.includes('[slow]');
  const steps = slow ? Array.from({ length: 40 }, (_, i) => 1 + i * 2) : [1, 5, 21, 45, 70, 95];
  const delay = slow ? 300 : 15;
  ex.res.writeHead(200, { 'content-type': 'application/json' });
  ex.res.write(JSON.stringify({ result: { conversation: { conversationId: `conv_${n}` } } }) + '\n');
  try {
    for (const progress of steps) {
      await sleep(delay, undefined, { signal: ex.signal });
      if (prompt.includes('[fail]') && progress > 20) {
        ex.res.end(JSON.stringify({ error: { code: 13, message: 'video generation failed upstream' } }) + '\n');
        return;
      }
      ex.res.write(line({ streamingVideoGenerationResponse: { videoId, progress, videoPostId: `post_${n}`, resolutionName: t2v?.resolutionName ?? cfg?.resolutionName } }));
    }
    await sleep(delay, undefined, { signal: ex.signal });
  } catch {
    return; // client went away: the generation stops
  }
  if (prompt.includes('[moderated]')) {
    ex.res.write(line({ streamingVideoGenerationResponse: { videoId, progress: 100, videoPostId: `post_${n}`, moderated: true } }));
  } else {
    const path = addAsset(state, `users/${acct.userId}/generated/${videoId}/generated_video.mp4`, { bytes: makeMp4(4096, n), mime: 'video/mp4', owner: acct.token });
    ex.res.write(line({ streamingVideoGenerationResponse: { videoId, progress: 100, assetId: videoId, videoPostId: `post_${n}`, videoUrl: path, thumbnailImageUrl: `users/${acct.userId}/generated/${videoId}/preview_image.jpg`, moderated: false } }));
  }
  ex.res.write(line({ token: 'I generated a video', isSoftStop: true }));
  ex.res.end();
}
