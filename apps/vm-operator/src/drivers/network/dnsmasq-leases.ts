/** One line of dnsmasq's lease file. */
export interface DhcpLease {
  /** When the lease ends, in seconds since the epoch; 0 for an infinite lease. */
  expires: number;
  /** The client's MAC, lower case. */
  mac: string;
  ip: string;
  /** The name the client sent, or null (`*`). */
  hostname: string | null;
}

const LEASE_LINE =
  /^(\d+) ([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}) (\d{1,3}(?:\.\d{1,3}){3}) (\S+)(?: (\S+))?$/;

/**
 * dnsmasq's lease file (`--dhcp-leasefile`): one IPv4 lease a line, `<expiry> <mac> <ip> <hostname|*>
 * <client-id|*>`; DHCPv6 lines (after a `duid` line) and anything else are skipped. dnsmasq rewrites
 * the file in place, so a read may see it half written: a lease missing from one read is no proof
 * that it ended.
 */
export function parseLeases(text: string): DhcpLease[] {
  const leases: DhcpLease[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('duid ')) break; // IPv6 leases follow
    const m = LEASE_LINE.exec(line.trim());
    if (!m) continue;
    leases.push({
      expires: Number(m[1]),
      mac: m[2]!.toLowerCase(),
      ip: m[3]!,
      hostname: m[4] === '*' ? null : m[4]!,
    });
  }
  return leases;
}

/** The newest lease of each MAC (a client that changed address may briefly have two). */
export function leasesByMac(leases: DhcpLease[]): Map<string, DhcpLease> {
  const byMac = new Map<string, DhcpLease>();
  const rank = (l: DhcpLease) => (l.expires === 0 ? Infinity : l.expires);
  for (const lease of leases) {
    const seen = byMac.get(lease.mac);
    if (!seen || rank(lease) > rank(seen)) byMac.set(lease.mac, lease);
  }
  return byMac;
}

/** Whether a lease is still good at `nowMs`. */
export function isLeaseCurrent(lease: DhcpLease, nowMs: number): boolean {
  return lease.expires === 0 || lease.expires * 1000 > nowMs;
}
