import type { ModelSpec } from '../core/models.js';
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
