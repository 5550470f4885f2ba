/** A public model id and how it maps onto the upstream (from the `[[models]]` catalogue in config). */
export type Tier = 'basic' | 'super' | 'heavy';
export type ModelKind = 'chat' | 'image' | 'image_edit' | 'video';

export interface ModelSpec {
  id: string;
  kind: ModelKind;
  /** Upstream modes to try, in order (`modeId`); the first with a usable account wins. */
  modes: string[];
  /** Minimum account tier able to serve it. */
  tier: Tier;
  /** The mode produces reasoning the client may see. */
  thinking: boolean;
  /** Quota units one request consumes in its mode. */
  cost: number;
  ownedBy: string;
  created: number;
  /** When non-empty, only accounts carrying one of these tags serve the model. */
  tags?: string[];
}

export const TIER_RANK: Record<Tier, number> = { basic: 0, super: 1, heavy: 2 };
