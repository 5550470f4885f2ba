/** A public model id and how it maps onto the upstream (from the `[[models]]` catalogue in config). */
export type Tier = 'basic' | 'super' | 'heavy';
export type ModelKind = 'chat' | 'image' | 'image_edit' | 'video';
/** The upstreams this server can speak to (one folder each under src/upstream/, one registry line). */
export const PROVIDER_NAMES = ['grok', 'xai'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export interface ModelSpec {
  id: string;
  kind: ModelKind;
  /** Upstream modes to try, in order (`modeId`); the first with a usable account wins. */
  modes: string[];
  /** Minimum account tier able to serve it. */
  tier: Tier;
  /**
   * The mode always reasons before it answers (expert, heavy). Not whether the client sees
   * reasoning (that is the request's choice); only the quality guard (`retry.require_reasoning`) uses it.
   */
  thinking: boolean;
  /** Quota units one request consumes in its mode. */
  cost: number;
  ownedBy: string;
  created: number;
  /** When non-empty, only accounts carrying one of these tags serve the model. */
  tags?: string[];
  /** Set when this id is another name of a catalogue model: that model's id. */
  aliasOf?: string;
  /** Image models: generate through the imagine WebSocket (`ws`) or the chat endpoint (`chat`). */
  imagePath?: 'ws' | 'chat';
  /** Image models: imagine's "pro" quality. */
  pro?: boolean;
  /** Upstreams that may serve it, in order (the next one when one has no eligible credential); absent: grok. */
  providers?: ProviderName[];
  /** The model name per upstream where it differs from the modes (xAI: its model name). */
  upstreamModel?: Partial<Record<ProviderName, string>>;
}

export const TIER_RANK: Record<Tier, number> = { basic: 0, super: 1, heavy: 2 };
