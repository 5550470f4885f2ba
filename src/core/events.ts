import type { ToolCall } from './intent.js';

/**
 * Neutral events: what every upstream produces and every translator consumes.
 * Upstreams never know OpenAI/Anthropic shapes; translators never import an upstream.
 */
export type UpstreamEvent =
  /** A fragment of the visible answer. */
  | { type: 'text'; text: string }
  /** A fragment of the model's reasoning ("thinking"). */
  | { type: 'reasoning'; text: string }
  /** A complete client tool call parsed out of the answer (emitted whole, never in pieces). */
  | { type: 'tool_call'; call: ToolCall }
  /** A web source the answer relies on (server-side search). */
  | { type: 'citation'; url: string; title?: string }
  /**
   * Token counts the upstream itself reported for the turn (the xAI API does; grok.com does not).
   * When present they replace the server's own estimate in every public shape. An image or video
   * generated through chat reports zeros: media is not priced by tokens.
   */
  | { type: 'usage'; promptTokens: number; completionTokens: number; reasoningTokens: number; cachedTokens: number }
  /** Identifiers learnt from the upstream; never shown as text. */
  | { type: 'meta'; conversationId?: string; responseId?: string; modelHash?: string }
  /**
   * The turn finished. `reason` is `stop` unless an emulated limit cut it (`length`) or tool
   * calls ended it (`tool_calls`). Always the last event of a successful turn.
   */
  | {
      type: 'done';
      reason?: 'stop' | 'length' | 'tool_calls';
      /** The client stop sequence that cut the text, when that is why it stopped (Anthropic reports it). */
      stopSequence?: string;
    };

/**
 * What an upstream does natively, so the emulated stages (src/tools) stay out of its way: `tools`
 * = it returns client tool calls as `tool_call` events itself (no prompt markup to parse);
 * `maxTokens` = it enforced the intent's token limit and reports `length` itself.
 */
export interface NativeFeatures {
  tools: boolean;
  maxTokens: boolean;
}

const NATIVE = Symbol('native chat features');

/** Marks a turn's events as coming from an upstream with these native features. */
export function markNative<T extends AsyncIterable<UpstreamEvent>>(events: T, features: NativeFeatures): T {
  Object.defineProperty(events, NATIVE, { value: features, enumerable: false });
  return events;
}

/** The native features a turn's upstream declared (none for an unmarked stream). */
export function nativeFeatures(events: AsyncIterable<UpstreamEvent>): NativeFeatures {
  return (events as { [NATIVE]?: NativeFeatures })[NATIVE] ?? { tools: false, maxTokens: false };
}
