import { readFileSync } from 'node:fs';
import { defaultsPath } from './load.js';

export type SettingsHelp = Record<string, Record<string, string>>;
let cached: SettingsHelp | null = null;

/**
 * The comments above each key of config.defaults.toml, as `{section: {key: text}}`: the admin
 * console shows them as help next to each settings field, so the documentation lives in one place.
 */
export function settingsHelp(): SettingsHelp {
  if (cached) return cached;
  const help: SettingsHelp = {};
  let section: string | null = null;
  let comment: string[] = [];
  for (const raw of readFileSync(defaultsPath(), 'utf8').split('\n')) {
    const line = raw.trim();
    const table = /^\[([A-Za-z0-9_]+)\]$/.exec(line);
    if (table) {
      section = table[1]!;
      help[section] ??= {};
      comment = [];
    } else if (line.startsWith('[[')) {
      section = null; // [[models]] entries are not runtime settings
    } else if (line.startsWith('#')) {
      comment.push(line.replace(/^#+\s?/, ''));
    } else if (section && /^[A-Za-z0-9_]+\s*=/.test(line)) {
      const key = line.slice(0, line.indexOf('=')).trim();
      if (comment.length) help[section]![key] = comment.join(' ');
      comment = [];
    } else if (!line) {
      comment = [];
    }
  }
  return (cached = help);
}
