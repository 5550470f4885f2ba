import type { RedisStore } from '../store/redis/redis-store.js';
import { mergeConfig } from './load.js';
import type { SettingsBackend } from './settings.js';

/**
 * Settings in Redis: one JSON key with the accumulated overrides, saved and announced by one Lua
 * script; every instance re-reads it when the announcement arrives on the subscriber connection,
 * and after that connection comes back (announcements sent meanwhile were missed).
 */
export function redisSettingsBackend(store: RedisStore): SettingsBackend {
  const load = async () => {
    const json = await store.loadSettings();
    return json ? (JSON.parse(json) as Record<string, unknown>) : null;
  };
  return {
    load,
    async persist(patch) {
      // The lock keeps two simultaneous updates on different instances from losing one another.
      for (let attempt = 0; attempt < 50; attempt++) {
        const res = await store.withLock('settings', 5000, async () => {
          await store.saveSettings(JSON.stringify(mergeConfig((await load()) ?? {}, patch)));
        });
        if (res.ok) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('another instance kept the settings lock for over a second');
    },
    async watch(onChange) {
      await store.subscribe(store.keys.settingsChannel, onChange);
      store.subscriber.on('ready', onChange);
    },
  };
}
