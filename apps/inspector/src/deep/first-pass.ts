import type { InspectionConcern, LocalDiskFacts } from '@ferry/contracts';
import type { QemuImgOptions } from '@ferry/qemu';
import { imageInfo, imageReader } from '@ferry/qemu';
import { partitionTableConcern } from './hazards';
import { readPartitionTable } from './partition-table';

export interface DiskImage {
  deviceId: string;
  /** The frozen image (vm-operator's snapshot keeps it unchanged until consolidate). */
  path: string;
  format: string;
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
  const reader = await imageReader(disk.path, disk.format, options);
  try {
    const { table, problem } = await readPartitionTable(reader.read);
    return {
      facts: {
        deviceId: disk.deviceId,
        path: disk.path,
        format: info.format,
        virtualSizeBytes: info.virtualSizeBytes,
        actualSizeBytes: info.actualSizeBytes,
        backingChain: info.backingChain,
        partitionTable: table,
      },
      concerns: problem ? [partitionTableConcern(disk.deviceId, problem)] : [],
    };
  } finally {
    await reader.close();
  }
}
