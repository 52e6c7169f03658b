import { BlockList, isIP } from 'node:net';

/**
 * INSPECTOR_VCENTER_ALLOWLIST, parsed: host names (lower case, ASCII, no trailing dot) and address
 * ranges (an IP address is a range of one). Pure: no DNS here; `vcenter-policy.ts` resolves.
 */
export interface VcenterAllowlist {
  readonly hosts: ReadonlySet<string>;
  readonly ranges: BlockList;
  /** Whether there is any range, so whether resolving a host name can help. */
  readonly hasRanges: boolean;
}

/**
 * What a URL's host needs: `allowed` or `refused` now, or `resolve` (a host name that no host entry
 * names, while there are ranges): allowed when every address it resolves to is inside (`addressesAllowed`).
 */
export type AllowlistVerdict = 'allowed' | 'refused' | 'resolve';

/**
 * Parses a comma-separated list of host names, IP addresses and CIDRs (IPv4 and IPv6; an IPv6
 * address may be bracketed). Ports, paths, user info and wildcards are refused: the list names
 * hosts, whatever the port. Throws an Error naming the first bad entry.
 */
export function parseAllowlist(text: string): VcenterAllowlist {
  const hosts = new Set<string>();
  const ranges = new BlockList();
  let hasRanges = false;
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const range = parseRange(entry);
    if (range) {
      ranges.addSubnet(range.address, range.prefix, range.family);
      hasRanges = true;
      continue;
    }
    const host = hostOf(entry);
    if (!host) throw new Error(`"${entry}" is not a host name, an IP address or a CIDR`);
    const family = isIP(host);
    if (family) {
      // `127.1` and the like, which URLs spell 127.0.0.1.
      ranges.addAddress(host, family === 4 ? 'ipv4' : 'ipv6');
      hasRanges = true;
    } else {
      hosts.add(host);
    }
  }
  return { hosts, ranges, hasRanges };
}

/** Whether a URL's host (`URL.hostname`: lower case, an IPv6 literal in brackets) is allowed. */
export function matchHost(list: VcenterAllowlist, hostname: string): AllowlistVerdict {
  const host = bare(hostname).toLowerCase().replace(/\.$/, '');
  if (isIP(host)) return inRange(list, host) ? 'allowed' : 'refused';
  if (list.hosts.has(host)) return 'allowed';
  return list.hasRanges ? 'resolve' : 'refused';
}

/** Whether a host name's addresses are all inside the ranges (none: no). */
export function addressesAllowed(list: VcenterAllowlist, addresses: readonly string[]): boolean {
  return addresses.length > 0 && addresses.every((a) => inRange(list, a));
}

function inRange(list: VcenterAllowlist, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `10.0.0.0/8`, `fd00::/8`, `[fd00::]/8`, or a bare IPv6 address (`fd00::1`, `[fd00::1]`). */
function parseRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = entry.indexOf('/');
  const address = bare(slash < 0 ? entry : entry.slice(0, slash));
  const family = isIP(address);
  if (slash < 0) return family === 6 ? { address, prefix: 128, family: 'ipv6' } : null;
  const max = family === 4 ? 32 : 128;
  const prefix = entry.slice(slash + 1);
  if (!family || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
    throw new Error(`"${entry}" is not a CIDR (an IPv4 or IPv6 address, "/" and a prefix length)`);
  }
  return { address, prefix: Number(prefix), family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** A host name or IPv4 address as URLs spell it (lower case, punycode, no trailing dot); null if not one. */
function hostOf(entry: string): string | null {
  if (/[\s:@/?#*\\[\]]/.test(entry)) return null;
  try {
    const host = new URL(`https://${entry}/`).hostname.replace(/\.$/, '');
    return host && !host.includes('%') ? host : null;
  } catch {
    return null;
  }
}
