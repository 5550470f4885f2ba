import { isIP } from 'node:net';

/**
 * Which peers may tell us the client's address (`X-Forwarded-For`) and scheme
 * (`X-Forwarded-Proto`). Trusting every peer lets any client pick its own address, so by default
 * nobody is trusted; behind a reverse proxy the operator says how many proxies sit in front (hop
 * count) or lists their addresses. Passed to Fastify's `trustProxy` as is.
 */
export type TrustProxy = false | number | string[];

/** Names proxy-addr understands besides addresses and CIDRs. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  if (slash < 0) return isIP(entry) !== 0;
  const family = isIP(entry.slice(0, slash));
  const bits = entry.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Config value (TOML boolean/number/array, or an env string) → TrustProxy, or a message saying
 * what is wrong. Accepts false/0/"" (trust nobody), a hop count, or addresses and CIDRs (an array
 * or a comma-separated string).
 */
export function parseTrustProxy(value: unknown): TrustProxy | string {
  if (value === false || value === 0 || value === '' || value === 'false' || value === '0') return false;
  if (value === true || value === 'true') {
    return 'true would let any client choose its own address; give the number of proxies in front of the server (e.g. 1) or their addresses/CIDRs';
  }
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value.trim()))) {
    const hops = Number(value);
    return Number.isInteger(hops) && hops >= 0 && hops <= 16 ? hops || false : 'a hop count must be an integer from 0 to 16';
  }
  const entries = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : null;
  if (!entries) return 'expected false, a hop count or a list of proxy addresses/CIDRs';
  const list = entries.map((e) => (typeof e === 'string' ? e.trim() : '')).filter(Boolean);
  const bad = list.find((e) => !isAddressOrCidr(e));
  if (bad !== undefined) return `'${bad}' is not an IP address, a CIDR (e.g. 10.0.0.0/8) or one of loopback, linklocal, uniquelocal`;
  if (entries.length > 0 && list.length === 0) return 'the list of proxy addresses is empty';
  return list.length ? list : false;
}
