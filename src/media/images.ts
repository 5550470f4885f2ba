import type { ModelSpec } from '../core/models.js';
import type { Services } from '../services.js';
import type { Lease } from '../store/types.js';
import { mediaErrors } from '../upstream/media-errors.js';
import type { ImageInput, ImageUpstream } from '../upstream/types.js';

/** The image upstream of the provider whose credential was leased. */
function imagesFor(services: Services, lease: Lease): ImageUpstream {
  const images = services.providers.images(lease.provider ?? 'grok');
  if (!images) throw mediaErrors.unsupported(`image generation on provider '${lease.provider ?? 'grok'}'`);
  return images;
}

/** Upstream rounds one request may use to make up images a round did not deliver. */
const MAX_ROUNDS = 3;

export interface ImageBatch {
  images: Buffer[];
  /** Images grok.com generated but blocked. */
  moderated: number;
}

/**
 * n images over the imagine WebSocket: one round asks for all that are missing
 * (`num_generations`, ≤ 10); a round that delivers fewer (closed early) is followed by another,
 * on whatever account the pool leases. Moderation is final, never retried. Previews are reported
 * with the index the image will have in the answer; `onImage` as each final image is known.
 */
export async function generateImages(
  services: Services,
  model: ModelSpec,
  req: { prompt: string; aspectRatio: string; n: number },
  signal: AbortSignal,
  onPartial?: (index: number, b64: string) => void,
  onImage?: (index: number, bytes: Buffer) => void,
): Promise<ImageBatch> {
  const config = services.config();
  if (model.imagePath === 'chat') return drawN(services, model, req, signal, onImage);
  const images: Buffer[] = [];
  let moderated = 0;
  for (let round = 0; round < MAX_ROUNDS && images.length + moderated < req.n; round++) {
    const offset = images.length;
    const want = req.n - images.length - moderated;
    const acquired = await services.pool.acquire(model, signal, async (lease) => {
      const images = imagesFor(services, lease);
      // A provider without rounds (the xAI API): whole images, no previews.
      if (!images.generateRound) return (await images.generate(lease, { prompt: req.prompt, n: want, aspectRatio: req.aspectRatio }, signal)).images.map((bytes) => ({ bytes }));
      return images.generateRound(lease, { prompt: req.prompt, aspectRatio: req.aspectRatio, n: want, nsfw: config.image.nsfw, pro: model.pro }, signal, (order, b64) => onPartial?.(offset + order, b64));
    });
    await acquired.release({ kind: 'success' });
    const before = images.length + moderated;
    for (const img of acquired.value.slice(0, want)) {
      if (!img.bytes) {
        moderated++;
        continue;
      }
      onImage?.(images.length, img.bytes);
      images.push(img.bytes);
    }
    if (images.length + moderated === before) break;
  }
  if (!images.length) throw moderated ? mediaErrors.moderated('image') : mediaErrors.noResult('image');
  return { images, moderated };
}

/** n edits (G makes one image per request): n requests in parallel, each on a leased account. */
export async function editImages(
  services: Services,
  model: ModelSpec,
  req: { prompt: string; inputs: ImageInput[]; aspectRatio?: string; n: number },
  signal: AbortSignal,
  onImage?: (index: number, bytes: Buffer) => void,
): Promise<ImageBatch> {
  const images: Buffer[] = [];
  let moderated = 0;
  let firstError: unknown = null;
  await Promise.all(
    Array.from({ length: req.n }, async () => {
      try {
        const acquired = await services.pool.acquire(model, signal, (lease) => {
          const upstream = imagesFor(services, lease);
          if (!upstream.edit) throw mediaErrors.unsupported(`image edits on provider '${lease.provider ?? 'grok'}'`);
          return upstream.edit(lease, { prompt: req.prompt, inputs: req.inputs, aspectRatio: req.aspectRatio }, signal);
        });
        await acquired.release({ kind: 'success' });
        onImage?.(images.length, acquired.value);
        images.push(acquired.value);
      } catch (err) {
        if ((err as { code?: string }).code === 'content_policy_violation') moderated++;
        else firstError ??= err;
      }
    }),
  );
  if (!images.length) throw moderated ? mediaErrors.moderated('image') : firstError;
  return { images, moderated };
}

/** Chat-path generation (docs/upstream-grok.md §7.2): up to two images per request, ceil(n/2) requests in parallel. */
async function drawN(services: Services, model: ModelSpec, req: { prompt: string; n: number }, signal: AbortSignal, onImage?: (index: number, bytes: Buffer) => void): Promise<ImageBatch> {
  const images: Buffer[] = [];
  let moderated = 0;
  let firstError: unknown = null;
  await Promise.all(
    Array.from({ length: Math.ceil(req.n / 2) }, async () => {
      try {
        const acquired = await services.pool.acquire(model, signal, (lease) => {
          const upstream = imagesFor(services, lease);
          if (!upstream.draw) throw mediaErrors.unsupported(`chat-path images on provider '${lease.provider ?? 'grok'}'`);
          return upstream.draw(lease, req.prompt, signal);
        });
        await acquired.release({ kind: 'success' });
        moderated += acquired.value.moderated;
        for (const img of acquired.value.images) {
          if (images.length >= req.n) break;
          onImage?.(images.length, img);
          images.push(img);
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'content_policy_violation') moderated++;
        else firstError ??= err;
      }
    }),
  );
  if (!images.length) throw moderated ? mediaErrors.moderated('image') : firstError;
  return { images, moderated };
}
