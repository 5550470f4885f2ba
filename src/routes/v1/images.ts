import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { resolveModel } from '../../config/catalogue.js';
import type { ModelSpec } from '../../core/models.js';
import { AppError, errors, toAppError } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { forClientKey } from '../../http/auth.js';
import { readMultipart } from '../../http/multipart.js';
import { fileUrl } from '../../http/public-url.js';
import { sendSse, sseEvent } from '../../http/sse.js';
import { parseBody } from '../../http/validate.js';
import { Channel } from '../../lib/channel.js';
import { editImages, generateImages, type ImageBatch } from '../../media/images.js';
import { sniffMedia } from '../../media/sniff.js';
import type { Services } from '../../services.js';
import { aspectForSize, completedEvent, normaliseFormat, partialEvent, ZERO_USAGE, type ImageFormat, type StreamKind } from '../../translators/images.js';
import type { ImageInput } from '../../upstream/types.js';

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const common = {
  prompt: z.string(),
  n: z.coerce.number().int().min(1).max(10).default(1),
  size: z.string().nullish(),
  quality: z.string().nullish(),
  style: z.string().nullish(),
  response_format: z.enum(['url', 'b64_json', 'base64']).nullish(),
  stream: bool.default(false),
};
const generationSchema = z.object({ ...common, model: z.string().min(1).default('grok-imagine-1.0') });
const editSchema = z.object({ ...common, model: z.string().min(1).default('grok-imagine-1.0'), mask: z.unknown().optional() });

const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/webp'];

function imageModel(services: Services, req: FastifyRequest, id: string): ModelSpec {
  const model = resolveModel(services.config(), id);
  if (!model) throw errors.modelNotFound(id);
  if (model.kind !== 'image' && model.kind !== 'image_edit') throw errors.invalidValue('model', `The model \`${id}\` is not an image model; use grok-imagine-1.0.`);
  return forClientKey(req, model);
}

function checked<T extends { prompt: string; size?: string | null; response_format?: string | null }>(services: Services, body: T): { aspectRatio: string; format: ImageFormat } {
  if (!body.prompt.trim()) throw new AppError(400, 'invalid_request_error', 'empty_prompt', "'prompt' must not be empty: describe the image.", 'prompt');
  const aspectRatio = aspectForSize(body.size);
  if (!aspectRatio) throw errors.invalidValue('size', `Invalid size '${body.size}'; use WIDTHxHEIGHT (e.g. 1024x1024, 1792x1024) or a ratio such as 16:9.`);
  const fallback = services.config().app.image_format;
  return { aspectRatio, format: normaliseFormat(body.response_format ?? (fallback === 'markdown' ? 'url' : fallback)) };
}

/** The JSON answer; moderated images are left out and counted in `moderated_images`. */
async function answer(services: Services, req: FastifyRequest, batch: ImageBatch, format: ImageFormat): Promise<Record<string, unknown>> {
  const data = await Promise.all(
    batch.images.map(async (bytes) => (format === 'url' ? { url: fileUrl(req, services.config(), 'image', await services.media.cache.put('image', bytes)) } : { b64_json: bytes.toString('base64') })),
  );
  return { created: Math.floor(Date.now() / 1000), data, usage: ZERO_USAGE, ...(batch.moderated ? { moderated_images: batch.moderated } : {}) };
}

/**
 * SSE: `<kind>.partial_image` as previews arrive, one `<kind>.completed` per image (each with
 * `index`), `event: error` if the generation fails after the stream started.
 */
function stream(
  services: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  kind: StreamKind,
  size: string | null | undefined,
  format: ImageFormat,
  run: (onPartial: (i: number, b64: string) => void, onImage: (i: number, bytes: Buffer) => void) => Promise<ImageBatch>,
): FastifyReply {
  const ch = new Channel<Promise<string>>();
  const partials = new Map<number, number>();
  const onPartial = (i: number, b64: string) => {
    const n = partials.get(i) ?? 0;
    partials.set(i, n + 1);
    ch.push(Promise.resolve(sseEvent(`${kind}.partial_image`, partialEvent(kind, b64, i, n, size))));
  };
  const onImage = (i: number, bytes: Buffer) => {
    const url = format === 'url' ? services.media.cache.put('image', bytes).then((id) => fileUrl(req, services.config(), 'image', id)) : Promise.resolve(undefined);
    ch.push(url.then((u) => sseEvent(`${kind}.completed`, completedEvent(kind, bytes, i, size, u))));
  };
  run(onPartial, onImage).then(
    () => ch.end(),
    (err) => {
      const e = toAppError(err);
      if (!(e.status === 499)) ch.push(Promise.resolve(sseEvent('error', { type: 'error', error: e.toBody().error })));
      ch.end();
    },
  );
  async function* events() {
    for await (const p of ch) yield await p;
  }
  return sendSse(reply, events(), services.config().performance.sse_keepalive_sec * 1000);
}

/** POST /images/generations and /images/edits (docs/api-contract.md §5). */
export function registerImageRoutes(app: FastifyInstance, services: Services): void {
  app.post('/images/generations', async (req, reply) => {
    const body = parseBody(generationSchema, req.body);
    const { aspectRatio, format } = checked(services, body);
    const model = imageModel(services, req, body.model);
    const signal = clientAbortSignal(reply);
    const job = { prompt: body.prompt, aspectRatio, n: body.n };
    if (body.stream) {
      return stream(services, req, reply, 'image_generation', body.size, format, (onPartial, onImage) => generateImages(services, model, job, signal, onPartial, onImage));
    }
    return answer(services, req, await generateImages(services, model, job, signal), format);
  });

  app.post('/images/edits', async (req, reply) => {
    if (!req.isMultipart()) throw errors.unsupportedMediaType('POST /v1/images/edits takes multipart/form-data with `prompt` and `image` file(s).');
    const { fields, files } = await readMultipart(req);
    const body = parseBody(editSchema, fields);
    if (body.mask !== undefined) throw errors.invalidValue('mask', 'Masks are not supported by grok.com image edits; describe the change in the prompt.');
    const { aspectRatio, format } = checked(services, body);
    const images = files.filter((f) => f.field === 'image' || f.field === 'image[]');
    if (!images.length) throw errors.missing('image');
    const inputs: ImageInput[] = images.map((f, i) => {
      const type = sniffMedia(f.data);
      if (!type || !IMAGE_MIMES.includes(type.mime)) {
        throw errors.unsupportedMediaType(`image[${i}] ('${f.filename}') is not a PNG, JPEG or WebP image; files are checked by content, not by name.`);
      }
      return { name: f.filename || `image.${type.ext}`, mime: type.mime, data: f.data };
    });
    const model = imageModel(services, req, body.model);
    const signal = clientAbortSignal(reply);
    const job = { prompt: body.prompt, inputs, aspectRatio: body.size ? aspectRatio : undefined, n: body.n };
    if (body.stream) {
      return stream(services, req, reply, 'image_edit', body.size, format, (_p, onImage) => editImages(services, model, job, signal, onImage));
    }
    return answer(services, req, await editImages(services, model, job, signal), format);
  });
}
