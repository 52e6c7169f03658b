import { createHash } from 'node:crypto';
import type { PlanNicDto, VsphereVmFacts } from '@ferry/contracts';

/** A unicast MAC: not multicast (bit 0 of the first octet), not all zeros. */
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function usable(mac: string | null): mac is string {
  if (!mac) return false;
  const m = mac.toLowerCase();
  return MAC.test(m) && (parseInt(m.slice(0, 2), 16) & 1) === 0 && m !== '00:00:00:00:00:00';
}

/** A MAC of QEMU's range, the same on every resume of the migration. */
function generated(migrationId: string, index: number): string {
  const h = createHash('sha256').update(`${migrationId}/${index}`).digest();
  return `52:54:00:${[h[0], h[1], h[2]].map((b) => b!.toString(16).padStart(2, '0')).join(':')}`;
}

/**
 * One virtio NIC per vSphere NIC, in vSphere's order, keeping the source's MAC (as Forklift does:
 * DHCP reservations and licences follow the MAC); a NIC without a usable one gets a QEMU MAC.
 */
export function planNics(facts: VsphereVmFacts, migrationId: string): PlanNicDto[] {
  return facts.nics.map((nic, i) => ({
    label: nic.label,
    source_type: nic.type,
    source_mac: nic.macAddress,
    mac: usable(nic.macAddress) ? nic.macAddress.toLowerCase() : generated(migrationId, i),
    model: 'virtio' as const,
  }));
}
