import type { VsphereVmFacts } from '@ferry/contracts';
import type { SnapshotRef } from '../source';
import { exportDisks } from './datastore-disks';
import { datacenterPath } from './vm-lookup';
import { buildVmFacts } from './vsphere-facts.mapper';
import type { VsphereSession } from './vsphere-session';

/** What is read of the VM before its snapshot, to know its disks' files as the snapshot freezes them. */
export const BASE_DISK_PROPERTIES = ['parent', 'config.hardware.device', 'config.keyId'] as const;

/**
 * One disk of the VM as it was just before the inspection's snapshot, kept in the snapshot's ref
 * (`disks`): the file the snapshot freezes (vCenter moves the VM onto a delta whose parent it is).
 */
export interface BaseDisk {
  /** The device key, as in `vsphere.disks[].key`: the deep inspection's device id. */
  key: string;
  label: string;
  /** `[datastore] vm/vm.vmdk`. */
  fileName: string;
  /** Its address on the datastore file service (`/folder/…?dcPath=…&dsName=…`); empty when none. */
  url: string;
  /** Why its bytes cannot be read over the datastore (an RDM, encryption, no file); null when they can. */
  unreadable: string | null;
}

/** Why a disk's file holds nothing a guest inspection can read; null when it does. */
function unreadableReason(
  disk: VsphereVmFacts['disks'][number] | undefined,
  url: string,
  facts: Pick<VsphereVmFacts, 'encrypted'>,
): string | null {
  if (disk?.rdm) return `${disk.rdm}-mode raw device mapping: its bytes are on a LUN, not in the datastore`;
  if (disk?.encrypted || facts.encrypted) return 'encrypted by vSphere: the datastore holds only ciphertext';
  if (!url) return 'no datastore file backs it, or its datacenter cannot be found';
  return null;
}

/**
 * The VM's disks as they are now (to be called right before the snapshot), with the same datastore
 * URLs exports give: the base files, not a delta that the running VM goes on writing.
 */
export async function readBaseDisks(
  session: VsphereSession,
  vmId: string,
  signal: AbortSignal,
): Promise<BaseDisk[]> {
  const { vm, props } = await session.vmProperties(vmId, BASE_DISK_PROPERTIES, signal);
  const facts = buildVmFacts(props, {
    moref: vm.value,
    inventoryPath: null,
    networks: new Map(),
    ownSnapshot: null,
  });
  const dcPath = await datacenterPath(session.lookup(), props, signal);
  const devices = props.get('config.hardware.device')?.children ?? [];
  const where = { origin: session.origin, dcPath: dcPath ?? '', snapshotted: true };
  return exportDisks(facts, devices, where).map((d) => {
    const url = dcPath === null ? '' : d.url;
    return {
      key: d.key,
      label: d.label,
      fileName: d.fileName,
      url,
      unreadable: unreadableReason(
        facts.disks.find((f) => String(f.key) === d.key),
        url,
        facts,
      ),
    };
  });
}

/** The base disks a ref carries; null when it carries none (no deep inspection, or an older ref). */
export function parseBaseDisks(ref: SnapshotRef | null): BaseDisk[] | null {
  const disks = ref?.['disks'];
  if (!Array.isArray(disks)) return null;
  return disks.filter(
    (d): d is BaseDisk =>
      typeof d === 'object' &&
      d !== null &&
      ['key', 'label', 'fileName', 'url'].every(
        (k) => typeof (d as Record<string, unknown>)[k] === 'string',
      ) &&
      ((d as BaseDisk).unreadable === null || typeof (d as BaseDisk).unreadable === 'string'),
  );
}
