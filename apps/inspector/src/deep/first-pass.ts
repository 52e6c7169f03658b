import type { InspectionConcern, LocalDiskFacts } from '@ferry/contracts';
import type { QemuImgOptions } from '@ferry/qemu';
import { imageInfo, imageReader } from '@ferry/qemu';
import { partitionTableConcern } from './hazards';
import { readPartitionTable } from './partition-table';

export interface DiskImage {
  deviceId: string;
  /**
   * The frozen image, as qemu-img reads it: a file (vm-operator's snapshot keeps it unchanged until
   * consolidate), or an NBD URI of one served read-only (`nbd+unix:///?socket=…`: a vSphere disk
   * over the datastore, through nbdkit).
   */
  path: string;
  format: string;
  /**
   * What the results call the image, when `path` is only the way to it (a vSphere disk's datastore
   * path `[ds] vm/vm.vmdk`, not a socket that is gone by the time anyone reads the results).
   */
  name?: string;
}

/**
 * Reads a disk image without an appliance, in well under a second: `qemu-img info` for its sizes
 * and backing chain, and the partition table from its first sectors. Rejects when qemu-img cannot
 * read the image at all; a partition table it cannot make sense of is a concern.
 */
export async function firstPass(
  disk: DiskImage,
  options: QemuImgOptions,
): Promise<{ facts: LocalDiskFacts; concerns: InspectionConcern[] }> {
  const info = await imageInfo(disk.path, options, { format: disk.format, backingChain: true });
  const name = (path: string) => (path === disk.path ? (disk.name ?? path) : path);
  const facts = {
    deviceId: disk.deviceId,
    path: name(disk.path),
    format: info.format,
    virtualSizeBytes: info.virtualSizeBytes,
    actualSizeBytes: info.actualSizeBytes,
    backingChain: info.backingChain.map((b) => ({ ...b, path: name(b.path) })),
  };
  // Nothing to read: qemu-img dd of an empty image is not worth a run, and libguestfs skips it.
  if (info.virtualSizeBytes === 0) {
    return {
      facts: { ...facts, partitionTable: null },
      concerns: [partitionTableConcern(disk.deviceId, 'the image holds no bytes (virtual size 0)')],
    };
  }
  const reader = await imageReader(disk.path, disk.format, options);
  try {
    const { table, problem } = await readPartitionTable(reader.read);
    return {
      facts: { ...facts, partitionTable: table },
      concerns: problem ? [partitionTableConcern(disk.deviceId, problem)] : [],
    };
  } finally {
    await reader.close();
  }
}
