import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/config/catalogue.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const dataDir = () => mkdtempSync(join(tmpdir(), 'g2a-cfg-'));

describe('layered configuration', () => {
  it('loads the shipped defaults with no configuration at all', () => {
    const c = loadConfig({ env: { DATA_DIR: dataDir() } });
    expect(c.server.port).toBe(8000);
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.token.selection_strategy).toBe('max_quota');
    expect(c.token.max_concurrency_per_account).toBe(4);
    const models = catalogue(c);
    for (const id of ['grok-3', 'grok-3-fast', 'grok-4', 'grok-4-mini', 'grok-4-fast', 'grok-4-heavy', 'grok-4.1-fast', 'grok-4.1-expert', 'grok-4.1-thinking', 'grok-imagine-1.0', 'grok-imagine-1.0-edit', 'grok-imagine-1.0-video', 'grok-2']) {
      expect(models.has(id), id).toBe(true);
    }
    expect(models.get('grok-4')!.modes).toEqual(['auto', 'fast']);
    expect(models.get('grok-4-heavy')!.tier).toBe('heavy');
  });

  it('lets DATA_DIR/config.toml override defaults, and the environment override both', () => {
    const dir = dataDir();
    writeFileSync(
      join(dir, 'config.toml'),
      '[server]\nport = 9001\n[token]\nmax_concurrency_per_account = 2\n[[models]]\nid = "grok-4"\nmodes = ["fast"]\n[[models]]\nid = "my-model"\nmodes = ["expert"]\ntier = "super"\n',
    );
    const c = loadConfig({ env: { DATA_DIR: dir, SERVER_PORT: '9002', LOG_LEVEL: 'DEBUG', API_KEY: 'a, b ,c', GROK_BASE_URL: 'http://127.0.0.1:1' } });
    expect(c.server.port).toBe(9002);
    expect(c.token.max_concurrency_per_account).toBe(2);
    expect(c.log.level).toBe('debug');
    expect(c.app.api_key).toEqual(['a', 'b', 'c']);
    expect(c.grok.base_url).toBe('http://127.0.0.1:1');
    const models = catalogue(c);
    expect(models.get('grok-4')!.modes).toEqual(['fast']);
    expect(models.get('my-model')!.tier).toBe('super');
    expect(models.has('grok-3')).toBe(true);
  });

  it('builds the Redis URL from its parts', () => {
    const c = loadConfig({ env: { DATA_DIR: dataDir(), REDIS_HOST: 'cache', REDIS_PORT: '6380', REDIS_DB: '2', REDIS_PASSWORD: 'p@ss' } });
    expect(c.redis.url).toBe('redis://:p%40ss@cache:6380/2');
  });

  it.each([
    [{ SERVER_PORT: 'abc' }, 'server.port'],
    [{ LOG_LEVEL: 'loud' }, 'log.level'],
    [{ SERVER_STORAGE_TYPE: 'mysql' }, 'server.storage_type'],
    [{ GROK_BASE_URL: 'grok.com' }, 'grok.base_url'],
    [{ PROXY_URL: 'ftp://x' }, 'grok.proxy_url'],
    [{ SERVER_WORKERS: '4' }, 'server.workers'],
  ])('rejects %o with one line naming %s', (env, key) => {
    let err: unknown;
    try {
      loadConfig({ env: { DATA_DIR: dataDir(), ...env } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain(key);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('rejects a typo in an override file, naming the key', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'config.toml'), '[token]\nmax_concurency_per_account = 2\n');
    expect(() => loadConfig({ env: { DATA_DIR: dir } })).toThrow(/token/);
  });
});
