/**
 * The Docker deployment files: the image's HEALTHCHECK, docker-compose.yml under every profile
 * (`docker-compose config`, Debian's docker-compose), the Prometheus scrape config (`promtool
 * check config`) and the Grafana provisioning (data source, dashboard provider, and the provisioned
 * dashboard kept identical to docs/grafana-dashboard.json). `.ci/run` installs both tools.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain ES module script without types (deploy/grafana/sync-dashboard.mjs)
import { DATASOURCE_UID, provisioned } from '../../deploy/grafana/sync-dashboard.mjs';

const root = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const PROFILES = ['redis', 'postgres', 'mysql', 'flaresolverr', 'prometheus', 'grafana'];

function tool(cmd: string, args: string[], env: Record<string, string> = {}) {
  // A clean environment: a developer's own METRICS_TOKEN or HOST_PORT must not change the result.
  const run = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } });
  if (run.error) throw new Error(`${cmd} is needed for this test (.ci/run installs it: apt-get install ${cmd === 'promtool' ? 'prometheus' : cmd}): ${run.error.message}`);
  return run;
}

type Compose = { services: Record<string, { profiles?: string[]; environment?: Record<string, string>; entrypoint?: string[]; volumes?: string[]; depends_on?: unknown; healthcheck?: unknown; image?: string }> };
function composeConfig(profile: string | null, env: Record<string, string> = {}): Compose {
  const run = tool('docker-compose', [...(profile ? ['--profile', profile] : []), 'config'], env);
  expect(run.status, `docker-compose ${profile ? `--profile ${profile} ` : ''}config: ${run.stderr}`).toBe(0);
  return parse(run.stdout) as Compose;
}

describe('deployment files', () => {
  it('the image checks its own /health with node (no curl in the image)', () => {
    const hc = /^HEALTHCHECK\s.*\n\s*CMD (.+)$/m.exec(read('Dockerfile'));
    expect(hc).not.toBeNull();
    expect(hc![1]).toContain("node -e \"fetch('http://127.0.0.1:8000/health')");
    expect(read('Dockerfile')).not.toMatch(/\bcurl\b/);
  });

  it('docker-compose.yml is valid under every profile, and only the profile a service names starts it', () => {
    const plain = composeConfig(null);
    expect(Object.keys(plain.services).sort()).toEqual(['flaresolverr', 'grafana', 'grok2api', 'mysql', 'postgres', 'prometheus', 'redis']);
    expect(plain.services.grok2api!.profiles).toBeUndefined();
    for (const profile of PROFILES) {
      const c = composeConfig(profile);
      const started = Object.entries(c.services).filter(([, s]) => !s.profiles || s.profiles.includes(profile)).map(([name]) => name).sort();
      const expected = profile === 'grafana' ? ['grafana', 'grok2api', 'prometheus'] : ['grok2api', profile].sort();
      expect(started, profile).toEqual(expected);
    }
  });

  it('wires Prometheus to the server with the metrics token, and Grafana to Prometheus', () => {
    const c = composeConfig('grafana', { METRICS_TOKEN: 'tok-123', ALERTS_WEBHOOK_URL: 'https://hooks.example/x' });
    const { grok2api, prometheus, grafana } = c.services;
    expect(grok2api!.environment).toMatchObject({ METRICS_TOKEN: 'tok-123', ALERTS_WEBHOOK_URL: 'https://hooks.example/x' });
    expect(prometheus!.environment).toMatchObject({ METRICS_TOKEN: 'tok-123' });
    // The entrypoint writes the token where the scrape config reads it, then runs Prometheus.
    const script = prometheus!.entrypoint!.join(' ');
    expect(script).toContain('> /tmp/grok2api-metrics-token');
    expect(script).toContain('exec /bin/prometheus --config.file=/etc/prometheus/prometheus.yml');
    expect(prometheus!.volumes).toContain(`${root}/deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro`);
    expect(grafana!.volumes).toEqual(expect.arrayContaining([`${root}/deploy/grafana/provisioning:/etc/grafana/provisioning:ro`, `${root}/deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro`]));
    expect(grafana!.depends_on).toMatchObject({ prometheus: { condition: 'service_healthy' } });

    const prom = parse(read('deploy/prometheus/prometheus.yml'));
    const job = prom.scrape_configs[0];
    expect(job).toMatchObject({ job_name: 'grok2api', metrics_path: '/metrics', authorization: { type: 'Bearer', credentials_file: '/tmp/grok2api-metrics-token' } });
    expect(job.dns_sd_configs[0]).toMatchObject({ names: ['grok2api'], port: 8000 });

    const ds = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml'));
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: DATASOURCE_UID, type: 'prometheus', url: 'http://prometheus:9090', isDefault: true })]);
    const dashProvider = parse(read('deploy/grafana/provisioning/dashboards/grok2api.yml'));
    expect(dashProvider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });

  it('Prometheus accepts the scrape config (promtool check config)', () => {
    // promtool wants the token file to exist: the same config with the file in a temp dir.
    const dir = mkdtempSync(join(tmpdir(), 'g2a-promcfg-'));
    try {
      writeFileSync(join(dir, 'token'), 'tok-123');
      const cfg = read('deploy/prometheus/prometheus.yml');
      expect(cfg).toContain('credentials_file: /tmp/grok2api-metrics-token');
      writeFileSync(join(dir, 'prometheus.yml'), cfg.replace('/tmp/grok2api-metrics-token', join(dir, 'token')));
      const run = tool('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the provisioned dashboard is docs/grafana-dashboard.json bound to the provisioned data source', () => {
    const expected = provisioned(read('docs/grafana-dashboard.json'));
    expect(read('deploy/grafana/dashboards/grok2api.json'), 'run: node deploy/grafana/sync-dashboard.mjs').toBe(expected);
    const dash = JSON.parse(expected);
    expect(dash.__inputs).toBeUndefined();
    const uids = new Set([...expected.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]));
    expect(uids).toEqual(new Set(['grok2api', DATASOURCE_UID]));
  });
});
