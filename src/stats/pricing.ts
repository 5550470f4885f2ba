/**
 * Cost per request from the price table in config (`[[prices]]`): tokens × the price per million
 * tokens of the provider and model that served the request. The admin stats sum it per key and
 * per credential (stats/types.ts keeps it in micro-USD).
 */
import type { Config } from '../config/schema.js';
import type { ModelSpec, ProviderName } from '../core/models.js';

/**
 * Token counts of one generation as the client was told them in `usage` (completion includes
 * reasoning): the provider's own where it reports them (xAI), else the server's estimate (grok.com
 * reports none; the translators count the prompt and the answer with the tokenizer).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** The counts are the server's estimate, not the provider's report. */
  estimated?: boolean;
}

/**
 * The name a price entry matches: the model's name at that provider (the xAI API model for xai,
 * the catalogue id — the alias target for an alias — for grok.com), so `grok-4` and `xai/grok-4`
 * served by the same xAI model cost the same.
 */
export function pricedModelName(model: ModelSpec, provider: ProviderName): string {
  if (provider === 'grok') return model.aliasOf ?? model.id;
  const upstream = model.upstreamModel?.[provider];
  if (upstream) return upstream;
  const prefix = `${provider}/`;
  return model.id.startsWith(prefix) ? model.id.slice(prefix.length) : model.id;
}

/** USD for one request, or null when the table has no price for this provider and model. */
export function requestCost(config: Config, provider: ProviderName, model: ModelSpec, usage: TokenUsage): number | null {
  const name = pricedModelName(model, provider);
  const ofProvider = config.prices.filter((p) => p.provider === provider);
  // An exact model entry wins over the provider's `*` entry.
  const price = ofProvider.find((p) => p.model === name) ?? ofProvider.find((p) => p.model === '*');
  if (!price) return null;
  return (usage.promptTokens * price.input_per_mtok + usage.completionTokens * price.output_per_mtok) / 1e6;
}
