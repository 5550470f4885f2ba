import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a URL a client gave us may reach (docs/api-contract.md §4.2). Everything that is not the
 * public internet is refused: loopback, RFC 1918 / ULA private ranges, link-local (cloud metadata
 * lives at 169.254.169.254), CGNAT, multicast, unspecified, documentation/benchmark ranges — and
 * the same addresses dressed up as IPv6 (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
 * NAT64 `64:ff9b::/96`), which would otherwise slip past a v4-only check.
 */

const V4_BLOCKED: [string, number, string][] = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a carrier-grade NAT address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a reserved address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];

const V6_BLOCKED: [string, number, string][] = [
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['100::', 64, 'a discard address'],
  ['2001:db8::', 32, 'a documentation address'],
  ['fc00::', 7, 'a private (unique local) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a site-local address'],
  ['ff00::', 8, 'a multicast address'],
];

/** One BlockList per reason, checked in order (a handful of lookups per fetch, not a hot path). */
const BLOCKED: { list: BlockList; why: string }[] = (() => {
  const byWhy = new Map<string, BlockList>();
  const add = (net: string, prefix: number, why: string, family: 'ipv4' | 'ipv6') => {
    let list = byWhy.get(why);
    if (!list) byWhy.set(why, (list = new BlockList()));
    list.addSubnet(net, prefix, family);
  };
  for (const [n, p, w] of V4_BLOCKED) add(n, p, w, 'ipv4');
  for (const [n, p, w] of V6_BLOCKED) add(n, p, w, 'ipv6');
  return [...byWhy].map(([why, list]) => ({ why, list }));
})();

/** The eight 16-bit groups of an IPv6 address (no zone id), or null if it does not parse. */
function v6Groups(ip: string): number[] | null {
  let text = ip.split('%')[0]!;
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) becomes two hex groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const b = tail[1]!.split('.').map(Number);
    text = text.slice(0, -tail[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const fill = text.includes('::') ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...r].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

/** The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64), else null. */
export function embeddedV4(ip: string): string | null {
  const g = v6Groups(ip);
  if (!g) return null;
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4(); // ::ffff:a.b.c.d
  if (zero(0, 6) && (g[6]! !== 0 || g[7]! > 1)) return v4(); // ::a.b.c.d (deprecated "compatible")
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(); // 64:ff9b::/96 NAT64
  return null;
}

/** Why an address may not be fetched ("a loopback address"), or null when it is public. */
export function blockedReason(ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedV4(ip);
    if (v4) return blockedReason(v4);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, why } of BLOCKED) if (list.check(ip, type)) return why;
  if (family === 4 && ip === '255.255.255.255') return 'a broadcast address';
  return null;
}

/**
 * The operator's allowlist (`security.fetch_allowlist`): host names (exact, or `*.example.com`
 * for subdomains), IP addresses and CIDR ranges. A listed host name skips the address check
 * entirely; a listed address or range lets exactly those resolved addresses through.
 */
export class Allowlist {
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly ips = new BlockList();
  private empty = true;

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const e = raw.trim().toLowerCase().replace(/^\[|\]$/g, '');
      if (!e) continue;
      this.empty = false;
      const [net, bits] = e.split('/');
      const family = isIP(net!);
      if (family && bits !== undefined) this.ips.addSubnet(net!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
      else if (family) this.ips.addAddress(net!, family === 4 ? 'ipv4' : 'ipv6');
      else if (e.startsWith('*.')) this.suffixes.push(e.slice(1));
      else this.hosts.add(e);
    }
  }

  hasHost(host: string): boolean {
    if (this.empty) return false;
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  hasIp(ip: string): boolean {
    if (this.empty) return false;
    const family = isIP(ip);
    if (!family) return false;
    const v4 = family === 6 ? embeddedV4(ip) : null;
    if (v4 && this.ips.check(v4, 'ipv4')) return true;
    return this.ips.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }
}
