import type { DiskDto } from '@ferry/contracts';
import { GIB } from '@ferry/contracts';
import type { DiskRecord } from './disks.repository';

export function toDiskDto(disk: DiskRecord): DiskDto {
  return {
    id: disk.id,
    name: disk.name,
    size: disk.sizeBytes / GIB,
    size_bytes: disk.sizeBytes,
    format: disk.format,
    state: disk.state,
    vm_id: disk.vmId,
    mount_point: disk.mountPoint,
    generation: disk.generation,
    operation_id: disk.operationId,
    path: disk.path,
    last_error: disk.lastError,
    created_at: disk.createdAt.toISOString(),
    updated_at: disk.updatedAt.toISOString(),
  };
}
