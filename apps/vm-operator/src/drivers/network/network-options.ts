import { createHash } from 'node:crypto';
import { MAX_VM_NICS } from '@ferry/contracts';

/** `VM_NETWORK_MODE`: a bridge with dnsmasq and a tap per NIC, QEMU's user-mode networking, or no NIC. */
export const NETWORK_MODES = ['bridge', 'user', 'none'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/** A Linux interface name: at most 15 characters (IFNAMSIZ is 16 with the NUL). */
export const IFNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export interface HostNetworkOptions {
  mode: NetworkMode;
  /** The bridge of `bridge` mode, created when missing. */
  bridge: string;
  /** The bridge's own address and prefix (`10.213.0.1/24`); DHCP leases the addresses above it. */
  cidr: string;
  dnsmasqBinary: string;
  /** VM_RUNTIME_DIR: dnsmasq's pid, lease and log files go under `<runtimeDir>/network/<bridge>/`. */
  runtimeDir: string;
  /** Deadline of each `ip` command and of dnsmasq's start, in ms. */
  commandTimeoutMs?: number;
}

/**
 * The tap of a VM's NIC: `ft`, 12 hex digits of a hash of the VM id, the NIC's index; 15 characters,
 * the longest name Linux takes. Deterministic, so a restarted vm-operator finds the taps it made
 * (they outlive it, like the VMs), and the same for any id (tests use short ones).
 */
export function tapName(vmId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_VM_NICS)
    throw new Error(`NIC index ${index} is out of range 0..${MAX_VM_NICS - 1}`);
  return `ft${createHash('sha256').update(vmId).digest('hex').slice(0, 12)}${index}`;
}
