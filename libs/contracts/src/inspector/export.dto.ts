import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { INSPECTOR_VM_ID_PATTERN, VcenterCredentials } from './inspector.dto';

/** How long an export lives without `inspector.export.session` renewing it, by default: 10 min. */
export const INSPECTOR_EXPORT_LEASE_MS = 600_000;
/** The shortest lease a caller may ask for (30 s): shorter ones would expire between renewals. */
export const INSPECTOR_EXPORT_MIN_LEASE_MS = 30_000;
/** The longest lease (24 h): a snapshot kept longer than a day grows its delta beyond reason. */
export const INSPECTOR_EXPORT_MAX_LEASE_MS = 86_400_000;
/** The name of the snapshot an export takes (its description is `ferry export <export id>`). */
export const INSPECTOR_EXPORT_SNAPSHOT_NAME = 'ferry-export';

export const EXPORT_STATES = ['open', 'closed'] as const;
export type ExportState = (typeof EXPORT_STATES)[number];

/** `auto`: snapshot the VM when it is powered on (so its disks stop changing); `never`: read it as it is. */
export const EXPORT_SNAPSHOT_MODES = ['auto', 'never'] as const;
export type ExportSnapshotMode = (typeof EXPORT_SNAPSHOT_MODES)[number];

export const VSPHERE_POWER_STATES = ['poweredOn', 'poweredOff', 'suspended'] as const;
export type VspherePowerState = (typeof VSPHERE_POWER_STATES)[number];

/** Request of `inspector.export.open`: which vSphere VM's disks are to be read, and for how long. */
export class OpenExportRequest {
  /** The vCenter to log in to; the password is kept (encrypted) only while the export is open. */
  @IsObject()
  @ValidateNested()
  @Type(() => VcenterCredentials)
  VcenterCredentials!: VcenterCredentials;

  /** A MoRef (`vm-42`) or an inventory path (`/DC0/vm/web01`). */
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'vmId must be a non-empty VM id' })
  vmId!: string;

  /** Default `auto`. */
  @IsOptional()
  @IsIn(EXPORT_SNAPSHOT_MODES)
  snapshot?: ExportSnapshotMode;

  /**
   * How long the export lives after each renewal, in ms (30 s to 24 h; default
   * INSPECTOR_EXPORT_LEASE_MS). Past it the inspector closes the export and removes its snapshot.
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(INSPECTOR_EXPORT_MIN_LEASE_MS)
  @Max(INSPECTOR_EXPORT_MAX_LEASE_MS)
  leaseMs?: number;
}

/** Request of `inspector.export.session`, `.get` and `.close`. */
export class ExportIdRequest {
  /** The export id `inspector.export.open` returned. */
  @IsUUID()
  id!: string;
}

/** One disk of an exported VM, as its bytes are to be read from the datastore. */
export interface VsphereExportDiskDto {
  /** vSphere's device key, e.g. `"2000"`. */
  key: string;
  /** 1-based, in the VM's device order (controller, then unit): volumes are named `<vmName>-disk<index>`. */
  index: number;
  /** e.g. `Hard disk 1`. */
  label: string;
  /** The disk's virtual size, in bytes. */
  capacityBytes: number;
  /** The disk as the VM had it before the export's snapshot: `[LocalDS_0] web01/web01.vmdk`. */
  fileName: string;
  /** The datastore named in `fileName`, e.g. `LocalDS_0`. */
  datastore: string;
  /**
   * The descriptor's HTTPS address on vCenter's datastore file service:
   * `https://<vcenter>/folder/web01/web01.vmdk?dcPath=DC0&dsName=LocalDS_0`. Its extents (e.g.
   * `web01-flat.vmdk`) sit beside it. Read with the cookie from `inspector.export.session`.
   */
  url: string;
  /** The backing's vSphere type, e.g. `VirtualDiskFlatVer2BackingInfo`. */
  backing: string;
  /** Thin provisioned; null when the backing does not say. */
  thin: boolean | null;
  /** Why this disk cannot be imported (physical RDM, multi-writer, encrypted, …); empty when it can. */
  blockers: string[];
}

/** An export: a vSphere VM's disks held readable (under a snapshot when powered on) for a lease. */
export interface VsphereExportDto {
  /** The export id (uuid). */
  id: string;
  state: ExportState;
  /** The VM's MoRef, e.g. `vm-42`. */
  vmId: string;
  vmName: string;
  /** As it was when the export opened. */
  powerState: VspherePowerState;
  /** The export's snapshot; null when none was taken (powered off, or `snapshot: 'never'`). */
  snapshot: { name: string; ref: string | null } | null;
  disks: VsphereExportDiskDto[];
  /** How long each renewal extends the lease, in ms. */
  leaseMs: number;
  /** ISO 8601; past it the export is closed by the inspector. */
  leaseExpiresAt: string;
  createdAt: string;
  closedAt: string | null;
  /** Why the last attempt to close it failed (it is retried); null otherwise. */
  lastError: string | null;
}

/** What the disk reader needs to read an export's URLs. A secret: never log it. */
export interface ExportSessionDto {
  id: string;
  /** The `Cookie` header value, e.g. `vmware_soap_session="…"`. */
  cookie: string;
  /** When to ask again (this renews the lease and keeps the session from idling out), ISO 8601. */
  expiresAt: string;
  /** The export's lease after this renewal, ISO 8601. */
  leaseExpiresAt: string;
  /** PEM of INSPECTOR_VSPHERE_CA_FILE when set, so that the reader trusts the same vCenter. */
  caPem?: string;
}
