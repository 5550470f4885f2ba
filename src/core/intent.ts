import type { ModelSpec } from './models.js';

/** Roles after normalisation (`developer` → `system`, legacy `function` → `tool`). */
export type NeutralRole = 'system' | 'user' | 'assistant' | 'tool';

export interface NeutralMessage {
  role: NeutralRole;
  /** The message's text parts, in order. */
  parts: string[];
  /** For `tool` messages: the call this result answers. */
  toolCallId?: string;
}

/** What to generate, independent of the public API it was asked through. */
export interface ChatIntent {
  kind: 'chat';
  model: ModelSpec;
  messages: NeutralMessage[];
  /** Whether reasoning is wanted (request field, else config default). */
  thinking: boolean;
}
