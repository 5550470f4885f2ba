/**
 * Video payloads for `conversations/new` (docs/upstream-grok.md §7.4). Only this module
 * knows their shape, so a protocol drift is a one-file change. Two generations (`video.generation`):
 * "2026-08", `mediaGenInput.textToVideo`, text only (grok.com's web client dropped image to video
 * on 2026-08-20); "legacy", `videoGenModelConfig` under a media post, for text and images.
 */

export interface VideoRequest {
  prompt: string;
  aspectRatio: string;
  /** Seconds. */
  duration: number;
  resolution: '480p' | '720p';
  preset: string;
}

/** Preset → message flag (P1–P3; G always sends `custom`). */
const PRESET_FLAGS: Record<string, string> = {
  fun: '--mode=extremely-crazy',
  normal: '--mode=normal',
  spicy: '--mode=extremely-spicy-or-crazy',
  custom: '--mode=custom',
};

export function presetFlag(preset: string): string {
  return PRESET_FLAGS[preset] ?? PRESET_FLAGS.custom!;
}

/** Text to video, G (`46cfa374`): exactly these eight top-level keys, no media post. */
export function textToVideoPayload(r: VideoRequest): Record<string, unknown> {
  return {
    modelName: 'imagine-video-gen',
    message: `${r.prompt} ${presetFlag(r.preset)}`,
    enableImageStreaming: true,
    enableSideBySide: true,
    sendFinalMetadata: true,
    responseMetadata: { experiments: [], modelConfigOverride: { modelMap: {} } },
    mediaGenInput: { textToVideo: { prompt: r.prompt, aspectRatio: r.aspectRatio, duration: r.duration, resolutionName: r.resolution } },
    kind: 'CONVERSATION_KIND_IMAGINE',
  };
}

/**
 * Image to video (P3 shape, the newest grok.com accepts for references): the uploaded image's
 * media post is the parent, its asset URL the reference.
 */
export function imageToVideoPayload(r: VideoRequest, parentPostId: string, imageReferences: string[]): Record<string, unknown> {
  return {
    temporary: true,
    modelName: 'imagine-video-gen',
    message: `${r.prompt} ${presetFlag(r.preset)}`,
    enableSideBySide: true,
    responseMetadata: {
      experiments: [],
      modelConfigOverride: {
        modelMap: {
          videoGenModelConfig: {
            parentPostId,
            aspectRatio: r.aspectRatio,
            videoLength: r.duration,
            resolutionName: r.resolution,
            isVideoEdit: false,
            isReferenceToVideo: true,
            imageReferences,
          },
        },
      },
    },
  };
}

/** Media post for an image-to-video parent. */
export function imagePostPayload(mediaUrl: string): Record<string, unknown> {
  return { mediaType: 'MEDIA_POST_TYPE_IMAGE', mediaUrl };
}

/** Media post a legacy text-to-video generation hangs under (P3). */
export function videoPostPayload(prompt: string): Record<string, unknown> {
  return { mediaType: 'MEDIA_POST_TYPE_VIDEO', prompt };
}

/** Text to video in the legacy generation (P3): the video post is the parent, no references. */
export function legacyTextToVideoPayload(r: VideoRequest, parentPostId: string): Record<string, unknown> {
  return {
    temporary: true,
    modelName: 'imagine-video-gen',
    message: `${r.prompt} ${presetFlag(r.preset)}`,
    enableSideBySide: true,
    responseMetadata: {
      experiments: [],
      modelConfigOverride: {
        modelMap: { videoGenModelConfig: { parentPostId, aspectRatio: r.aspectRatio, videoLength: r.duration, resolutionName: r.resolution, isVideoEdit: false } },
      },
    },
  };
}

export interface VideoFrame {
  progress?: number;
  videoUrl?: string;
  thumbnailUrl?: string;
  moderated?: boolean;
}

/** Progress as an integer percentage: numbers, "87.5 %" strings, and 0–1 fractions (P1). */
function percent(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number.parseFloat(v) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return n > 0 && n < 1 ? Math.round(n * 100) : Math.round(n);
}

/** Reads one frame's video part (`streamingVideoGenerationResponse`, fallback `modelResponse.fileAttachments`). */
export function readVideoFrame(frame: unknown): VideoFrame | null {
  const resp = (frame as { result?: { response?: Record<string, unknown> } })?.result?.response;
  if (!resp) return null;
  const v = resp.streamingVideoGenerationResponse as Record<string, unknown> | undefined;
  if (v && typeof v === 'object') {
    return {
      progress: percent(v.progress),
      videoUrl: typeof v.videoUrl === 'string' && v.videoUrl ? v.videoUrl : undefined,
      thumbnailUrl: typeof v.thumbnailImageUrl === 'string' ? v.thumbnailImageUrl : undefined,
      moderated: v.moderated === true,
    };
  }
  const files = (resp.modelResponse as { fileAttachments?: unknown } | undefined)?.fileAttachments;
  if (Array.isArray(files)) {
    const f = files.find((x) => typeof x === 'string' && (x.endsWith('.mp4') || x.includes('/content')));
    if (typeof f === 'string') return { videoUrl: f };
  }
  return null;
}
