// Writes deploy/grafana/dashboards/grok2api.json from docs/grafana-dashboard.json: the same
// dashboard with its import-time data source input (${DS_PROMETHEUS}) bound to the provisioned
// Prometheus (uid "prometheus"), since Grafana's file provisioning does not fill __inputs.
// Run after changing the docs dashboard: node deploy/grafana/sync-dashboard.mjs
// (test/deploy/deploy.test.ts fails while the two differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DATASOURCE_UID = 'prometheus';

/** The provisioned form of the docs dashboard's JSON text. */
export function provisioned(docsJson) {
  const { __inputs, ...dashboard } = JSON.parse(docsJson);
  const text = JSON.stringify(dashboard, null, 2).replaceAll('${DS_PROMETHEUS}', DATASOURCE_UID);
  return `${text}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = new URL('../../', import.meta.url);
  const out = new URL('deploy/grafana/dashboards/grok2api.json', root);
  writeFileSync(out, provisioned(readFileSync(new URL('docs/grafana-dashboard.json', root), 'utf8')));
  console.log(`wrote ${fileURLToPath(out)}`);
}
