import { mergeConfig } from '../../config/load.js';
import type { SettingsBackend } from '../../config/settings.js';
import type { SqlStore } from './sql-store.js';

/**
 * Runtime settings in SQL: the accumulated overrides as JSON in the `settings` state row, merged
 * under that row's lock and announced to every instance (PostgreSQL NOTIFY; MySQL/MariaDB
 * instances poll the row's version), which re-read them — well within a second.
 */
export function sqlSettingsBackend(store: SqlStore): SettingsBackend {
  return {
    async load() {
      const json = await store.loadSettings();
      return json ? (JSON.parse(json) as Record<string, unknown>) : null;
    },
    async persist(patch) {
      await store.updateSettings((current) => JSON.stringify(mergeConfig(current ? (JSON.parse(current) as Record<string, unknown>) : {}, patch)));
    },
    async watch(onChange) {
      store.changes.onSettings(onChange);
    },
  };
}
