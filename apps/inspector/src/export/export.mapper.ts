import type { VsphereExportDto } from '@ferry/contracts';
import { parseRef } from '../sources/vsphere/vsphere-config';
import type { ExportRecord } from './export.repository';

/** The export as its callers see it: no credentials, no session. */
export function toExportDto(e: ExportRecord): VsphereExportDto {
  return {
    id: e.id,
    state: e.state,
    vmId: e.vmId,
    vmName: e.vmName,
    powerState: e.powerState,
    snapshot:
      e.snapshotIntent === 'none' || !e.snapshotName
        ? null
        : { name: e.snapshotName, ref: parseRef(e.snapshotRef)?.snapshot ?? null },
    disks: e.disks,
    leaseMs: e.leaseMs,
    leaseExpiresAt: e.leaseExpiresAt.toISOString(),
    createdAt: e.createdAt.toISOString(),
    closedAt: e.closedAt?.toISOString() ?? null,
    lastError: e.lastError,
  };
}
