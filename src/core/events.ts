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
