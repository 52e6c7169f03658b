import { Injectable } from '@nestjs/common';
import type {
  GuestInspectionJobDto,
  PlacementRequest,
  PlacementResultDto,
  VcenterCredentials,
  VsphereExportDto,
  VsphereFactsDto,
  VspherePowerDto,
  VspherePowerTarget,
} from '@ferry/contracts';
import { FerryError, HostSubjects, InspectorSubjects } from '@ferry/contracts';
import { FerryClient, retrying } from '@ferry/platform';

/** A vCenter round trip (login, work, logout) may take a while; tasks longer still. */
const VSPHERE_TIMEOUT_MS = 60_000;
const POWER_TIMEOUT_MS = 15 * 60_000;

/**
 * What a migration asks of the inspector (vSphere, and the deep inspection of its copies) and of
 * host-capability (placement). Every request has a deadline; idempotent ones are retried through a
 * short outage of their peer.
 */
@Injectable()
export class SourcePeers {
  constructor(private readonly client: FerryClient) {}

  facts(credentials: VcenterCredentials, vmId: string): Promise<VsphereFactsDto> {
    return this.client.send(
      InspectorSubjects.VSPHERE_FACTS,
      { VcenterCredentials: credentials, vmId },
      { timeoutMs: VSPHERE_TIMEOUT_MS },
    );
  }

  /** Idempotent: a VM already in that state answers `changed: false`. */
  power(credentials: VcenterCredentials, vmId: string, state: VspherePowerTarget): Promise<VspherePowerDto> {
    return retrying(30_000, () =>
      this.client.send(
        InspectorSubjects.VSPHERE_POWER,
        { VcenterCredentials: credentials, vmId, state },
        { timeoutMs: POWER_TIMEOUT_MS },
      ),
    );
  }

  openExport(credentials: VcenterCredentials, vmId: string, leaseMs: number): Promise<VsphereExportDto> {
    return this.client.send(
      InspectorSubjects.EXPORT_OPEN,
      { VcenterCredentials: credentials, vmId, leaseMs },
      { timeoutMs: POWER_TIMEOUT_MS },
    );
  }

  getExport(id: string): Promise<VsphereExportDto> {
    return retrying(30_000, () => this.client.send(InspectorSubjects.EXPORT_GET, { id }));
  }

  /** Removes the export's snapshot; an export already closed (or gone) is fine. */
  async closeExport(id: string): Promise<void> {
    await retrying(60_000, () =>
      this.client.send(InspectorSubjects.EXPORT_CLOSE, { id }, { timeoutMs: VSPHERE_TIMEOUT_MS }),
    ).catch((err: unknown) => {
      if (!(err instanceof FerryError && err.code === 'NOT_FOUND')) throw err;
    });
  }

  inspectGuest(id: string, diskIds: string[]): Promise<GuestInspectionJobDto> {
    return retrying(30_000, () =>
      this.client.send(InspectorSubjects.GUEST_INSPECT, {
        id,
        disks: diskIds.map((diskId) => ({ diskId })),
        fixInputs: true,
      }),
    );
  }

  guestInspection(id: string): Promise<GuestInspectionJobDto> {
    return retrying(30_000, () => this.client.send(InspectorSubjects.GUEST_GET, { id }));
  }

  placement(req: PlacementRequest): Promise<PlacementResultDto> {
    return retrying(30_000, () => this.client.send(HostSubjects.PLACEMENT_CANDIDATES, req));
  }
}
