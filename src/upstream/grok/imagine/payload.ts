import { randomUUID } from 'node:crypto';

/**
 * Imagine payloads and frame readers (docs/upstream-grok.md §7.1–§7.3, G shapes). Only
 * this module knows the wire shapes, so a protocol drift is a one-file change.
 */

export interface ImagineRequest {
  prompt: string;
  aspectRatio: string;
  /** Images wanted from this round (G: `num_generations`, 1–10). */
  n: number;
  nsfw: boolean;
  /** "Pro" quality (`enable_pro`). */
  pro?: boolean;
}

/** Sent before every prompt (P3, G). */
export function resetMessage(now = Date.now()): Record<string, unknown> {
  return { type: 'conversation.item.create', timestamp: now, item: { type: 'message', content: [{ type: 'reset' }] } };
}

export function promptMessage(r: ImagineRequest, now = Date.now()): Record<string, unknown> {
  return {
    type: 'conversation.item.create',
    timestamp: now,
    item: {
      type: 'message',
      content: [
        {
          requestId: randomUUID(),
          text: r.prompt,
          type: 'input_text',
          properties: {
            section_count: 0,
            is_kids_mode: false,
            enable_nsfw: r.nsfw,
            skip_upsampler: false,
            enable_side_by_side: true,
            is_initial: false,
            aspect_ratio: r.aspectRatio,
            enable_pro: r.pro ?? false,
            num_generations: r.n,
          },
        },
      ],
    },
  };
}

export type ImagineFrame =
  | { kind: 'start'; id: string; order: number }
  | { kind: 'image'; id: string; order: number; percent: number; url: string; blob: string }
  | { kind: 'completed'; id: string; order: number; moderated: boolean }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'other' };

function slot(o: Record<string, unknown>): { id: string; order: number } {
  const id = [o.image_id, o.job_id, o.id].find((v) => typeof v === 'string' && v) as string | undefined;
  const order = [o.order, o.grid_index, o.side_by_side_index].find((v) => typeof v === 'number') as number | undefined;
  return { id: id ?? `order-${order ?? 0}`, order: order ?? 0 };
}

/** One WebSocket message (new form: `json` status frames + `image` frames; `error` frames). */
export function readImagineFrame(o: unknown): ImagineFrame {
  if (!o || typeof o !== 'object') return { kind: 'other' };
  const f = o as Record<string, unknown>;
  if (f.type === 'error') return { kind: 'error', code: String(f.err_code ?? 'error'), message: String(f.err_msg ?? '') };
  if (f.type === 'image' && typeof f.blob === 'string') {
    const pct = typeof f.percentage_complete === 'number' ? f.percentage_complete : 100;
    return { kind: 'image', ...slot(f), percent: pct, url: typeof f.url === 'string' ? f.url : '', blob: f.blob };
  }
  if (f.type === 'json') {
    if (f.current_status === 'completed') return { kind: 'completed', ...slot(f), moderated: f.moderated === true };
    if (f.current_status === 'start_stage') return { kind: 'start', ...slot(f) };
  }
  return { kind: 'other' };
}

/** Image edit, G (`d6f6e9f5`): exactly six top-level keys; `inputAssets` are upload-v2 file ids. */
export function imageToImagePayload(prompt: string, inputAssets: string[], aspectRatio?: string): Record<string, unknown> {
  return {
    modelName: 'imagine-image-edit',
    message: prompt,
    enableImageStreaming: true,
    enableSideBySide: true,
    sendFinalMetadata: true,
    mediaGenInput: { imageToImage: { prompt, inputAssets, ...(aspectRatio ? { aspectRatio } : {}) } },
  };
}

export interface StreamedImage {
  index: number;
  progress: number;
  url?: string;
  moderated: boolean;
  final: boolean;
}

/**
 * Image frames of a `conversations/new` stream (edit and chat path): `streamingImageGenerationResponse`
 * or the card form `cardAttachment.jsonData.image_chunk` (docs/upstream-grok.md §7.2). `isFinal` may replace progress.
 */
export function readImageFrame(frame: unknown): StreamedImage | null {
  const resp = (frame as { result?: { response?: Record<string, unknown> } })?.result?.response;
  if (!resp) return null;
  let s = resp.streamingImageGenerationResponse as Record<string, unknown> | undefined;
  if (!s && resp.cardAttachment && typeof resp.cardAttachment === 'object') {
    const jd = (resp.cardAttachment as { jsonData?: unknown }).jsonData;
    try {
      const card = (typeof jd === 'string' ? JSON.parse(jd) : jd) as Record<string, unknown> | undefined;
      s = (card?.image_chunk ?? card?.imageChunk) as Record<string, unknown> | undefined;
    } catch {
      return null;
    }
  }
  if (!s || typeof s !== 'object') return null;
  const progress = typeof s.progress === 'number' ? s.progress : s.isFinal === true ? 100 : 0;
  const url = [s.imageUrl, s.image_url].find((v) => typeof v === 'string' && v) as string | undefined;
  const index = typeof s.imageIndex === 'number' ? s.imageIndex : 0;
  return { index, progress, url, moderated: s.moderated === true, final: progress >= 100 || s.isFinal === true };
}

/** Chat-path image generation (`Drawing: ` prefix, docs/upstream-grok.md §7.2, G); the mode comes from the model. */
export function drawingPayload(prompt: string, modeId: string, temporary: boolean): Record<string, unknown> {
  return {
    temporary,
    modeId,
    message: `Drawing: ${prompt}`,
    fileAttachments: [],
    imageAttachments: [],
    disableSearch: false,
    enableImageGeneration: true,
    returnImageBytes: false,
    returnRawGrokInXaiRequest: false,
    enableImageStreaming: true,
    imageGenerationCount: 2,
    forceConcise: false,
    enableSideBySide: true,
    sendFinalMetadata: true,
    isReasoning: false,
    disableTextFollowUps: true,
  };
}
