import type { ModelSpec } from '../core/models.js';
import type { Config } from './schema.js';

const cache = new WeakMap<Config['models'], Map<string, ModelSpec>>();

/** The model catalogue of a config, by public id (built once per config object). */
export function catalogue(config: Config): Map<string, ModelSpec> {
  let map = cache.get(config.models);
  if (!map) {
    map = new Map(
      config.models.map((m) => [
        m.id,
        { id: m.id, kind: m.kind, modes: m.modes, tier: m.tier, thinking: m.thinking, cost: m.cost, ownedBy: m.owned_by, created: m.created, tags: m.tags },
      ]),
    );
    cache.set(config.models, map);
  }
  return map;
}
