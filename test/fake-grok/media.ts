import { setTimeout as sleep } from 'node:timers/promises';
import { addAsset, handleAssetGet, handleMediaPost, handleUploadV2, mediaState } from './assets.js';
import { admit, jsonObject, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';
import { colourFor, makePng } from './media-fixtures.js';
import { handleVideo, isVideoPayload } from './video.js';

/**
 * Entry of the fake's media endpoints, tried before the text-chat routes: assets (GET), upload
 * v2, media posts, and the media payloads of `conversations/new` (video, image edit through
 * `mediaGenInput.imageToImage`, chat-path images with the `Drawing: ` prefix). Returns false
 * for anything else.
 */
export async function handleMedia(state: FakeState, ex: Exchange, path: string, raw: Buffer): Promise<boolean> {
  if (ex.req.method === 'GET' && path.startsWith('/users/')) {
    handleAssetGet(state, ex, path);
    return true;
  }
  if (ex.req.method !== 'POST') return false;
  if (path === '/http/upload-file-v2/direct') {
    handleUploadV2(state, ex, raw);
    return true;
  }
  if (path === '/rest/media/post/create') {
    handleMediaPost(state, ex);
    return true;
  }
  if (path !== '/rest/app-chat/conversations/new') return false;
  const body = jsonObject(ex);
  if (!body) return false;
  if (isVideoPayload(body)) {
    await handleVideo(state, ex);
    return true;
  }
  if (body.mediaGenInput?.imageToImage || body.modelName === 'imagine-image-edit') {
    await handleImageStream(state, ex, 'edit');
    return true;
  }
  if (typeof body.message === 'string' && body.message.startsWith('Drawing: ')) {
    await handleImageStream(state, ex, 'draw');
    return true;
  }
  return false;
}

const line = (response: Record<string, unknown>) => JSON.stringify({ result: { response } }) + '\n';

/**
 * Image edit (docs/upstream-grok.md §7.3: `inputAssets` must be uploaded file ids of this account) and chat-path
 * drawing (docs/upstream-grok.md §7.2): `streamingImageGenerationResponse` frames at 50 % and 100 % per image.
 * `[moderated]` in the prompt ends every image moderated.
 */
async function handleImageStream(state: FakeState, ex: Exchange, kind: 'edit' | 'draw'): Promise<void> {
  const acct = admit(state, ex, true);
  if (!acct) return;
  const body = jsonObject(ex)!;
  const i2i = body.mediaGenInput?.imageToImage;
  let prompt = String(body.message ?? '');
  if (kind === 'edit') {
    const inputs: unknown = i2i?.inputAssets;
    const known = new Set(state.uploads.filter((u) => u.token === acct.token).map((u) => u.id));
    const ok = i2i && typeof i2i.prompt === 'string' && Array.isArray(inputs) && inputs.length >= 1 && inputs.every((id) => typeof id === 'string' && known.has(id));
    if (!ok) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
    prompt = i2i.prompt;
  }
  const count = kind === 'draw' ? 2 : 1;
  const n = ++state.counters.turn;
  ex.res.writeHead(200, { 'content-type': 'application/json' });
  ex.res.write(JSON.stringify({ result: { conversation: { conversationId: `conv_${n}` } } }) + '\n');
  const urls: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      await sleep(5, undefined, { signal: ex.signal });
      ex.res.write(line({ streamingImageGenerationResponse: { imageIndex: i, progress: 50, imageUrl: `users/${acct.userId}/generated/e${n}-${i}-part-0/image.png` } }));
    }
    for (let i = 0; i < count; i++) {
      await sleep(5, undefined, { signal: ex.signal });
      const assetId = `e${n}-${i}`;
      if (prompt.includes('[moderated]')) {
        ex.res.write(line({ streamingImageGenerationResponse: { imageIndex: i, progress: 100, assetId, moderated: true } }));
        continue;
      }
      const path = addAsset(state, `users/${acct.userId}/generated/${assetId}/image.png`, { bytes: makePng(24, 24, colourFor(n * 10 + i + ++mediaState(state).counter)), mime: 'image/png', owner: acct.token });
      urls.push(path);
      ex.res.write(line({ streamingImageGenerationResponse: { imageIndex: i, progress: 100, imageUrl: path, assetId, moderated: false } }));
    }
  } catch {
    return;
  }
  ex.res.write(line({ modelResponse: { message: 'done', generatedImageUrls: urls } }));
  ex.res.end();
}
