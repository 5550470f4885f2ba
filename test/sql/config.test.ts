/** SQL storage configuration: what the loader accepts and refuses, and what the settings API never shows. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { fileSettingsBackend, SettingsService } from '../../src/config/settings.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, testOptions, uniqueTablePrefix } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'g2a-sqlconf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const load = (env: Record<string, string>) => loadConfig({ env: { DATA_DIR: dir, ...env } });

describe('SQL storage configuration', () => {
  it('takes DATABASE_* from the environment, and allows several workers', () => {
    const c = load({ SERVER_STORAGE_TYPE: 'pgsql', DATABASE_URL: 'postgres://u:p@db:5432/g', DATABASE_POOL_SIZE: '4', DATABASE_TLS: 'verify', DATABASE_TABLE_PREFIX: 'prod_', SERVER_WORKERS: '3' });
    expect(c.database).toMatchObject({ url: 'postgres://u:p@db:5432/g', pool_size: 4, tls: 'verify', table_prefix: 'prod_', timeout_ms: 800 });
    expect(load({ SERVER_STORAGE_TYPE: 'mysql', DATABASE_URL: 'mariadb://u:p@db/g' }).server.storage_type).toBe('mysql');
  });

  it('refuses a missing or mismatched DATABASE_URL and a bad prefix with one line naming the key', () => {
    expect(() => load({ SERVER_STORAGE_TYPE: 'pgsql' })).toThrow(/database\.url: server\.storage_type = "pgsql" needs DATABASE_URL, e\.g\. postgres:\/\//);
    expect(() => load({ SERVER_STORAGE_TYPE: 'mysql', DATABASE_URL: 'postgres://u@h/d' })).toThrow(/needs a mysql:\/\/ \(or mariadb:\/\/\) URL/);
    expect(() => load({ SERVER_STORAGE_TYPE: 'pgsql', DATABASE_URL: 'http://h/d' })).toThrow(/database\.url: must start with postgres:\/\//);
    expect(() => load({ DATABASE_TABLE_PREFIX: 'Bad-Prefix' })).toThrow(/database\.table_prefix/);
    expect(() => load({ SERVER_WORKERS: '2' })).toThrow(/"redis", "pgsql" or "mysql"/);
  });

  it('never shows or accepts the database settings at run time (the URL holds a password)', async () => {
    const settings = new SettingsService(load({ SERVER_STORAGE_TYPE: 'pgsql', DATABASE_URL: 'postgres://u:secret@db/g' }), fileSettingsBackend(dir));
    await settings.init();
    expect(JSON.stringify(settings.view())).not.toContain('secret');
    expect(settings.view().database).toBeUndefined();
    await expect(settings.update({ database: { pool_size: 3 } })).rejects.toMatchObject({ status: 400, code: 'setting_not_editable' });
  });

  for (const dialect of DIALECTS) {
    it(`${dialect}: TLS required against a server without it fails at start, naming the database`, async () => {
      const store = new SqlStore({ ...testOptions(dialect, uniqueTablePrefix('tls')), tls: 'require' });
      const err = await store.init().then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/^cannot reach the database \((PostgreSQL|MySQL\/MariaDB) at 127\.0\.0\.1:\d+\/g2a_test\): .*(SSL|secure)/i);
    });
  }
});
