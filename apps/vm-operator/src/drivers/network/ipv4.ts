/** The bridge's subnet as `VM_NETWORK_CIDR` gives it, and the DHCP range computed from it. */
export interface BridgeSubnet {
  /** `10.213.0.1/24`, normalised. */
  cidr: string;
  /** The bridge's own address. */
  address: string;
  prefix: number;
  netmask: string;
  /** The first address DHCP hands out: the one after the bridge's. */
  rangeStart: string;
  /** The last: the one before the broadcast address. */
  rangeEnd: string;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CIDR = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}/(\\d{1,2})$`);

function toInt(octets: number[]): number {
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function ipv4ToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Why `cidr` cannot be a bridge's address and prefix, or undefined when it can. */
export function bridgeSubnetProblem(cidr: string): string | undefined {
  const m = CIDR.exec(cidr);
  if (!m) return 'must be an IPv4 address with a prefix, e.g. 10.213.0.1/24';
  const prefix = Number(m[5]);
  // Below /8 is no private network; /31 and /32 leave nothing to lease.
  if (prefix < 8 || prefix > 30) return 'the prefix must be /8 to /30';
  const address = toInt(m.slice(1, 5).map(Number));
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  const broadcast = network + size - 1;
  if (address === network) return 'is the network address: give the bridge a host address, e.g. x.x.x.1/24';
  if (address >= broadcast - 1)
    return 'leaves no address above it for DHCP: the bridge takes a low address of the subnet';
  return undefined;
}

/** Parses `VM_NETWORK_CIDR`; throws on what bridgeSubnetProblem refuses. */
export function parseBridgeSubnet(cidr: string): BridgeSubnet {
  const problem = bridgeSubnetProblem(cidr);
  if (problem) throw new Error(`VM_NETWORK_CIDR "${cidr}" ${problem}`);
  const [ip, bits] = cidr.split('/') as [string, string];
  const prefix = Number(bits);
  const address = toInt(ip.split('.').map(Number));
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  return {
    cidr: `${ipv4ToString(address)}/${prefix}`,
    address: ipv4ToString(address),
    prefix,
    netmask: ipv4ToString(2 ** 32 - size),
    rangeStart: ipv4ToString(address + 1),
    rangeEnd: ipv4ToString(network + size - 2),
  };
}
