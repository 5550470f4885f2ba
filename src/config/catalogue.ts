import type { ModelSpec, ProviderName } from '../core/models.js';
import type { Config, ModelEntry } from './schema.js';

const cache = new WeakMap<Config['models'], Map<string, ModelSpec>>();

function spec(id: string, m: ModelEntry): ModelSpec {
  return {
    id,
    kind: m.kind,
    modes: m.modes ?? [],
    tier: m.tier,
    thinking: m.thinking,
    cost: m.cost,
    ownedBy: m.owned_by,
    created: m.created,
    tags: m.tags,
    imagePath: m.image_path,
    pro: m.pro,
    providers: m.providers,
    upstreamModel: { xai: m.xai_model ?? id },
  };
}

/**
 * The model catalogue of a config, by public id (built once per config object). An alias is the
 * model it names under its own id (so answers echo the id the client asked for), with `aliasOf`
 * set; the schema guarantees the target exists and is no alias itself.
 */
export function catalogue(config: Config): Map<string, ModelSpec> {
  let map = cache.get(config.models);
  if (!map) {
    const byId = new Map(config.models.map((m) => [m.id, m]));
    map = new Map(
      config.models.map((m) => {
        const target = m.alias_of !== undefined ? byId.get(m.alias_of) : undefined;
        return [m.id, target ? { ...spec(m.id, target), aliasOf: target.id } : spec(m.id, m)];
      }),
    );
    cache.set(config.models, map);
  }
  return map;
}

/** Providers a `<provider>/<model>` id may pin (grok.com's modes are only reachable through the catalogue). */
const PINNABLE = new Set<ProviderName>(['xai']);

/**
 * The model a request names: a catalogue id, or `<provider>/<model>` pinning one provider. A
 * pinned catalogue id keeps its kind and its name for that provider; any other pinned name is a
 * chat model of that provider under the name given (the provider's own list, merged into
 * /v1/models, says which exist; the provider answers 404 for the rest).
 */
export function resolveModel(config: Config, id: string): ModelSpec | undefined {
  const known = catalogue(config).get(id);
  if (known) return known;
  const slash = id.indexOf('/');
  if (slash <= 0) return undefined;
  const provider = id.slice(0, slash) as ProviderName;
  const name = id.slice(slash + 1);
  if (!PINNABLE.has(provider) || !name) return undefined;
  const base = catalogue(config).get(name);
  if (base) {
    if (base.providers && !base.providers.includes(provider) && !base.upstreamModel?.[provider]) return undefined;
    return { ...base, id, providers: [provider] };
  }
  const kind = /imag/i.test(name) ? 'image' : 'chat';
  return { id, kind, modes: [], tier: 'basic', thinking: false, cost: 1, ownedBy: provider, created: 0, providers: [provider], upstreamModel: { [provider]: name } };
}
