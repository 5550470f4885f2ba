/**
 * Every Redis key the server uses, from one builder. All keys share the hash tag `{<prefix>}`, so
 * they live in one cluster slot and every multi-key Lua script is cluster-safe; several
 * deployments share one Redis by using different prefixes (redis.prefix / REDIS_PREFIX).
 */
export interface RedisKeys {
  /** The tag itself, `{prefix}`; every key starts with it (SCAN pattern for cleanup). */
  readonly tag: string;
  /** Hash: account id → account JSON. */
  readonly accounts: string;
  /** Sorted set: account id scored by import sequence (list order). */
  readonly order: string;
  /** Counter behind `order`. */
  readonly seq: string;
  /** Hash: lease id → lease record JSON. */
  readonly leases: string;
  /** Sorted set: lease id scored by expiry (epoch ms); expired leases are reclaimed. */
  readonly leaseExpiry: string;
  /** String: the round-robin cursor (last account id picked). */
  readonly rrCursor: string;
  /** Hash: meta key → value. */
  readonly meta: string;
  /** String: runtime settings overrides (JSON); Counter: their version. */
  readonly settings: string;
  readonly settingsVersion: string;
  /** Pub/sub channels (not keys, but prefixed the same way so deployments do not hear each other). */
  readonly settingsChannel: string;
  readonly tasksChannel: string;
  /** String: holder token of a named lock. */
  lock(name: string): string;
  /** Any other namespaced key (other store capabilities build theirs here). */
  key(...parts: string[]): string;
}

export function redisKeys(prefix: string): RedisKeys {
  const tag = `{${prefix}}`;
  const k = (...parts: string[]) => [tag, ...parts].join(':');
  return {
    tag,
    accounts: k('accounts'),
    order: k('accounts', 'order'),
    seq: k('accounts', 'seq'),
    leases: k('leases'),
    leaseExpiry: k('leases', 'expiry'),
    rrCursor: k('rr'),
    meta: k('meta'),
    settings: k('settings'),
    settingsVersion: k('settings', 'version'),
    settingsChannel: k('chan', 'settings'),
    tasksChannel: k('chan', 'tasks'),
    lock: (name: string) => k('lock', name),
    key: k,
  };
}
