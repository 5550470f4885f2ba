/**
 * Standalone fake grok.com: `npm run fake-grok` (PORT, default 9100; HOST, default 127.0.0.1;
 * REQUIRE_STATSIG=1 to refuse requests without x-statsig-id). Drive it through the /__fake/ control API.
 */
import { startFakeGrok } from './server.js';

const port = Number(process.env.PORT ?? 9100);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid PORT ${process.env.PORT}`);
  process.exit(2);
}
const fake = await startFakeGrok({
  port,
  host: process.env.HOST || '127.0.0.1',
  requireStatsig: ['1', 'true', 'yes'].includes((process.env.REQUIRE_STATSIG ?? '').toLowerCase()),
});
console.log(`fake grok.com listening on ${fake.url}`);
console.log(`control API: ${fake.url}/__fake/{accounts,scripts,requests,reset,state}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
