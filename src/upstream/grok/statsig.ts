import { randomBytesPooled as randomBytes } from '../../lib/ids.js';
import type { Config } from '../../config/schema.js';

/**
 * `x-statsig-id` (docs/upstream-grok.md §1.4). When grok.com's web client cannot compute the real
 * signature it sends `base64("<prefix>" + <the JavaScript error it hit>)`; grok.com accepts that
 * fallback. We imitate it with a fresh random error text per request:
 *   - `x1`: the prefix the browser uses since 2026-06 (the `e:` form started getting 403 code 7);
 *   - `e`: the older prefix, kept for deployments pinned to it;
 *   - `manual`: a fixed signed value from the config (validated there to decode to 70 bytes).
 */

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALPHA = 'abcdefghijklmnopqrstuvwxyz';

function randomFrom(alphabet: string, n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  // 256 is not a multiple of 26/36, so this is very slightly biased; it only needs to look random.
  for (let i = 0; i < n; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

/** The browser's fallback error text for one request; `escapeQuotes` mirrors the `x1:` variant. */
function fallbackError(escapeQuotes: boolean): string {
  if (randomBytes(1)[0]! < 128) {
    const index = randomFrom(ALNUM, 5);
    const quoted = escapeQuotes ? `\\'${index}\\'` : `'${index}'`;
    return `TypeError: Cannot read properties of null (reading 'children[${quoted}]')`;
  }
  return `TypeError: Cannot read properties of undefined (reading '${randomFrom(ALPHA, 10)}')`;
}

/** The value for one request's `x-statsig-id` header. */
export function statsigId(grok: Pick<Config['grok'], 'statsig_mode' | 'statsig_value'>): string {
  switch (grok.statsig_mode) {
    case 'manual':
      return grok.statsig_value.trim();
    case 'e':
      return Buffer.from(`e:${fallbackError(false)}`).toString('base64');
    case 'x1':
    default:
      return Buffer.from(`x1:${fallbackError(true)}`).toString('base64');
  }
}
