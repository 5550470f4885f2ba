import type { Config } from '../../config/schema.js';

/**
 * The `conversations/new` body of the `modeId` generation (docs/upstream-grok.md §2.1, P2).
 * Keys are written in the order the grok.com web client sends them: request bodies are part of
 * the fingerprint, and JSON.stringify keeps insertion order. Device and connector values are
 * the browser's constants; only the message, the mode and the privacy switches vary.
 */
export interface ChatPayload {
  collectionIds: string[];
  connectors: string[];
  deviceEnvInfo: {
    darkModeEnabled: boolean;
    devicePixelRatio: number;
    screenHeight: number;
    screenWidth: number;
    viewportHeight: number;
    viewportWidth: number;
  };
  disableMemory: boolean;
  disableSearch: boolean;
  disableSelfHarmShortCircuit: boolean;
  disableTextFollowUps: boolean;
  enableImageGeneration: boolean;
  enableImageStreaming: boolean;
  enableSideBySide: boolean;
  fileAttachments: string[];
  forceConcise: boolean;
  forceSideBySide: boolean;
  imageAttachments: string[];
  imageGenerationCount: number;
  isAsyncChat: boolean;
  message: string;
  modeId: string;
  responseMetadata: Record<string, never>;
  returnImageBytes: boolean;
  returnRawGrokInXaiRequest: boolean;
  searchAllConnectors: boolean;
  sendFinalMetadata: boolean;
  temporary: boolean;
  toolOverrides: Record<string, boolean>;
  customPersonality?: string;
}

export interface PayloadOptions {
  /** Ids returned by the upload endpoint (`fileMetadataId`); images and files alike. */
  fileAttachments?: string[];
}

type PayloadConfig = Pick<Config['grok'], 'temporary' | 'disable_memory' | 'custom_instruction'>;

/** Builds the body for one turn. `modeId` is the mode the pool leased the account for. */
export function buildChatPayload(grok: PayloadConfig, message: string, modeId: string, opts: PayloadOptions = {}): ChatPayload {
  const payload: ChatPayload = {
    collectionIds: [],
    connectors: [],
    deviceEnvInfo: { darkModeEnabled: false, devicePixelRatio: 2, screenHeight: 1329, screenWidth: 2056, viewportHeight: 1083, viewportWidth: 2056 },
    disableMemory: grok.disable_memory,
    disableSearch: false,
    disableSelfHarmShortCircuit: false,
    disableTextFollowUps: false,
    enableImageGeneration: true,
    enableImageStreaming: true,
    enableSideBySide: true,
    fileAttachments: opts.fileAttachments ?? [],
    forceConcise: false,
    forceSideBySide: false,
    imageAttachments: [],
    imageGenerationCount: 2,
    isAsyncChat: false,
    message,
    modeId,
    responseMetadata: {},
    returnImageBytes: false,
    returnRawGrokInXaiRequest: false,
    searchAllConnectors: false,
    sendFinalMetadata: true,
    temporary: grok.temporary,
    // Personal connectors are off: an API caller must never search the account owner's mail or files.
    toolOverrides: { gmailSearch: false, googleCalendarSearch: false, outlookSearch: false, outlookCalendarSearch: false, googleDriveSearch: false },
  };
  // Added last, and only when set, as the web client does (docs/upstream-grok.md §2.1).
  const personality = grok.custom_instruction.trim();
  if (personality) payload.customPersonality = personality;
  return payload;
}
