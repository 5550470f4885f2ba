/**
 * `npm run doctor` (or `node dist/src/doctor/cli.js` in the Docker image): checks one grok.com
 * account end to end through the production transport and says, layer by layer, what refused and
 * what to do. Exit code 0 when nothing failed (warnings included), 1 when a layer failed, 2 when
 * it could not run (bad configuration, no account).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { normalizeToken } from '../lib/account-id.js';
import { createGrokTransport } from '../upstream/grok/transport/index.js';
import { pickAccount, readStore, type StoreView } from './account-source.js';
import { renderText } from './render-text.js';
import { runDoctor } from './run-doctor.js';

const USAGE = `Usage: npm run doctor -- [--token <sso> | --account <id>] [--json]

Checks one grok.com account layer by layer: DNS, TCP + TLS, Cloudflare, session, rate limits,
one chat turn over REST and one over the WebSocket (one fast query each), the imagine handshake.

  --token <sso>    the account's sso cookie (or DOCTOR_SSO_TOKEN); default: the first active
                   account of the configured store
  --account <id>   an account of the store by its id (as the admin console shows it)
  --json           the report as JSON (the same as POST /admin/api/tokens/{id}/doctor)
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { token: { type: 'string' }, account: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const startup = loadConfig();
  // The token is an input of this command, not server configuration, so it is read here and not in config/.
  const given = args.token ?? process.env.DOCTOR_SSO_TOKEN;
  // The store also holds the runtime settings (egress proxies, clearance…), wanted even with a token.
  let view: StoreView | null = null;
  try {
    view = await readStore(startup);
  } catch (e) {
    if (!given) throw e;
    process.stderr.write(`warning: could not read the ${startup.server.storage_type} store (${(e as Error).message}); runtime settings changed in the console are not applied\n`);
  }
  const config = view?.config ?? startup;
  let token: string | null = null;
  let accountId: string | null = null;
  if (given) {
    token = normalizeToken(given);
    if (!token) {
      process.stderr.write('grok2api doctor: the token given is not an sso value (the bare value, sso=<value> or a cookie string)\n');
      return 2;
    }
    accountId = view?.accounts.find((a) => a.token === token)?.id ?? null;
  } else {
    const account = pickAccount(view!.accounts, args.account);
    if (!account) {
      const why = args.account ? `no account with id ${args.account}` : 'no active account';
      process.stderr.write(`grok2api doctor: ${why} in the ${config.server.storage_type} store; import one, or pass --token <sso>\n`);
      return 2;
    }
    token = account.token;
    accountId = account.id;
  }
  const transport = await createGrokTransport(
    () => config,
    (warning) => process.stderr.write(`warning: ${warning}\n`),
  );
  try {
    const report = await runDoctor({ config, transport, token, accountId });
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
    return report.verdict === 'fail' ? 1 : 0;
  } finally {
    await transport.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`grok2api doctor: ${message}\n`);
    process.exit(2);
  },
);
