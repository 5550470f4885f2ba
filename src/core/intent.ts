import type { ModelSpec } from './models.js';

/** Roles after normalisation (`developer` → `system`, legacy `function` → `tool`). */
export type NeutralRole = 'system' | 'user' | 'assistant' | 'tool';

/** A client-declared function tool (OpenAI function, Responses function, Anthropic tool). */
export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
}

/** `auto`: model decides; `none`: never call; `required`: must call one; `{name}`: must call that one. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** A function call, from the model or replayed from the history. */
export interface ToolCall {
  id: string;
  name: string;
  /** Compact JSON text of the arguments. */
  arguments: string;
}

/** Bytes a client attached (image, audio, document), already fetched/decoded and checked. */
export interface Attachment {
  kind: 'image' | 'audio' | 'file';
  mime: string;
  name: string;
  data: Buffer;
}

export interface NeutralMessage {
  role: NeutralRole;
  /** The message's text parts, in order. */
  parts: string[];
  /** For `tool` messages: the call this result answers. */
  toolCallId?: string;
  /** For `assistant` messages: the calls it made (replayed so agent loops keep their history). */
  toolCalls?: ToolCall[];
  /** Attachments of this message, uploaded upstream before the turn. */
  attachments?: Attachment[];
  /**
   * Set on an instruction that stands in for a feature the upstream may lack: `json_output` is the
   * JSON instruction for `outputFormat`. An upstream doing that natively (the xAI API's
   * `response_format`) leaves the message out.
   */
  emulates?: 'json_output';
}

/** Emulated output constraints, enforced by the proxy because the upstream has no such knobs. */
export interface OutputLimits {
  /** Stop sequences: the output is cut before the first one, `finish_reason: "stop"`. */
  stop?: string[];
  /** Maximum completion tokens: the output is cut there, `finish_reason: "length"`. */
  maxTokens?: number;
}

/**
 * A structured-output request (`response_format` / `text.format`). Upstreams that take it natively
 * send it on; for the others the proxy adds instructions and checks the answer (src/tools/json-output.ts).
 */
export type OutputFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; description?: string; schema: Record<string, unknown>; strict: boolean };

/** What to generate, independent of the public API it was asked through. */
export interface ChatIntent {
  kind: 'chat';
  model: ModelSpec;
  messages: NeutralMessage[];
  /** Whether reasoning is wanted (request field, else config default). */
  thinking: boolean;
  /** Client tools; absent or empty = none. */
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  /** `parallel_tool_calls: false` (only native-tool upstreams act on it; emulation keeps one call). */
  parallelToolCalls?: boolean;
  limits?: OutputLimits;
  /** Structured output asked for (the emulation's instruction message is already in `messages`). */
  outputFormat?: OutputFormat;
  /** Sampling knobs passed to upstreams that take them (grok.com has none). */
  sampling?: { temperature?: number; topP?: number };
}
