/** An interface a guest's network configuration names. */
export interface ConfiguredInterface {
  /** The interface name it applies to (or gives, for a rule); null when it goes by MAC only. */
  name: string | null;
  /** The MAC it is bound to (a rule's `ATTR{address}`, `HWADDR=`, `mac-address=`), lower-case. */
  mac: string | null;
  /** It pins the name to the MAC (a udev rule, a .link file, netplan's set-name, ifcfg's HWADDR). */
  pins: boolean;
  /** It gives the interface a static IPv4 address. */
  static: boolean;
}

/** One configuration file, as the network fix reads it. */
export interface NetConfigFile {
  file: string;
  format: 'udev' | 'link' | 'ifupdown' | 'netplan' | 'nm' | 'ifcfg';
  interfaces: ConfiguredInterface[];
}

/** What a rewrite is to do for one interface of the new VM. */
export interface NetTarget {
  name: string;
  /** The MACs that mean this NIC in the file: its source MAC, and the new one (a re-run). */
  macs: string[];
  newMac: string;
  /** Turn a static IPv4 configuration into DHCP. */
  dhcp: boolean;
}

export interface Rewrite {
  text: string;
  /** What changed, a sentence each (for the fix's notes). */
  changes: string[];
}

/** A MAC in a file's spelling: upper case where the file wrote upper case. */
export function macLike(example: string, mac: string): string {
  return /[A-F]/.test(example) ? mac.toUpperCase() : mac.toLowerCase();
}

export function sameMac(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase().replace(/-/g, ':') === b.toLowerCase().replace(/-/g, ':');
}

/** A target matches an interface by name, or by one of its MACs. */
export function matches(target: NetTarget, name: string | null, mac: string | null): boolean {
  return (name !== null && name === target.name) || target.macs.some((m) => sameMac(m, mac));
}

/** `KEY=value` with the value unquoted (`'…'`, `"…"`), for ifcfg and keyfile lines. */
export function parseAssignment(line: string): { key: string; value: string; quote: string } | null {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*=\s*(.*?)\s*$/.exec(line);
  if (!m) return null;
  const raw = m[2]!;
  const q = /^(['"])(.*)\1$/.exec(raw);
  return { key: m[1]!, value: q ? q[2]! : raw, quote: q ? q[1]! : '' };
}
