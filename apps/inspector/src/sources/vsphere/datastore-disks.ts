import type { VsphereDiskFacts, VsphereExportDiskDto, VsphereVmFacts } from '@ferry/contracts';
import { datastoreFileUrl, parseDatastorePath } from './datastore-path';
import type { XmlNode } from './soap-xml';

/** Where the disks' files are served: vCenter's origin and the VM's datacenter path. */
export interface DiskLocation {
  origin: string;
  dcPath: string;
  /** Whether the export snapshots the VM (so that its persistent disks stop changing). */
  snapshotted: boolean;
}

/** The VM's device order: controller (its key, which vSphere numbers by type and bus), then unit. */
export function byDeviceOrder(a: VsphereDiskFacts, b: VsphereDiskFacts): number {
  return (
    a.controllerKey - b.controllerKey ||
    (a.busNumber ?? 0) - (b.busNumber ?? 0) ||
    (a.unitNumber ?? 0) - (b.unitNumber ?? 0) ||
    a.key - b.key
  );
}

/** Why a disk cannot be imported by reading its datastore file; empty when it can. */
export function diskBlockers(
  disk: VsphereDiskFacts,
  backing: XmlNode | undefined,
  vm: { encrypted: boolean; snapshotted: boolean },
): string[] {
  const out: string[] = [];
  if (!disk.fileName || !parseDatastorePath(disk.fileName))
    out.push(`no datastore file backs it (${backing?.xsiType ?? 'no backing'})`);
  if (disk.rdm === 'physical')
    out.push('physical-mode raw device mapping: its bytes are on a LUN, not in the datastore');
  if (disk.rdm === 'virtual')
    out.push('virtual-mode raw device mapping: the datastore holds only its mapping file, not the LUN');
  if (disk.sharing === 'sharingMultiWriter')
    out.push('multi-writer disk shared with other VMs: no consistent copy while they run');
  if (disk.busSharing && disk.busSharing !== 'noSharing')
    out.push(`its controller shares the bus (${disk.busSharing}) with other VMs`);
  if (disk.encrypted || vm.encrypted) out.push('encrypted by vSphere: the datastore holds only ciphertext');
  if (disk.diskMode === 'independent_nonpersistent')
    out.push(
      'independent-nonpersistent: vSphere discards its writes at power-off; a KVM disk would keep them',
    );
  else if (disk.independent && vm.snapshotted)
    out.push('independent disk: snapshots leave it out, so it changes while it is read; power the VM off');
  const parent = backing?.str('parent', 'fileName');
  if (parent)
    out.push(`a delta on the VM's own snapshots (its parent is ${parent}): delete or consolidate them first`);
  return out;
}

/**
 * The export's disks, in device order and numbered from 1, each with the URL of its descriptor.
 * `devices` is the VM's `config.hardware.device` (for the backings' types and parents).
 */
export function exportDisks(
  facts: Pick<VsphereVmFacts, 'disks' | 'encrypted'>,
  devices: readonly XmlNode[],
  where: DiskLocation,
): VsphereExportDiskDto[] {
  const backings = new Map(
    devices.filter((d) => d.xsiType === 'VirtualDisk').map((d) => [d.int('key'), d.child('backing')]),
  );
  return [...facts.disks].sort(byDeviceOrder).map((disk, i) => {
    const backing = backings.get(disk.key);
    const file = disk.fileName ? parseDatastorePath(disk.fileName) : null;
    return {
      key: String(disk.key),
      index: i + 1,
      label: disk.label,
      capacityBytes: disk.capacityBytes,
      fileName: disk.fileName ?? '',
      datastore: file?.datastore ?? disk.datastore ?? '',
      url: file ? datastoreFileUrl(where.origin, file, where.dcPath) : '',
      backing: backing?.xsiType ?? 'unknown',
      thin: disk.thinProvisioned,
      blockers: diskBlockers(disk, backing, { encrypted: facts.encrypted, snapshotted: where.snapshotted }),
    };
  });
}
