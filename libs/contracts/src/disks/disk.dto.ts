import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { fieldAlias } from '../common/field-alias';
import { PageQuery } from '../common/page';
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';

export const DISK_STATES = [
  'creating',
  // An import's disk until its bytes are verified: never attachable, never usable half-written.
  'importing',
  'available',
  'attaching',
  'in-use',
  'detaching',
  'deleting',
  'error',
] as const;
export type DiskState = (typeof DISK_STATES)[number];

export const DISK_FORMATS = ['qcow2', 'raw'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

export const OPERATION_TYPES = [
  'create',
  'delete',
  'attach',
  'detach',
  'cleanup-test-failover',
  'import',
  // A migration's FIX: virt-v2v in place and Ferry's guest edits, on one VM's disks together.
  'fix',
  // A disk's image rewritten into another format (a migration's CONVERT).
  'convert',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const OPERATION_STATUSES = ['pending', 'executing', 'completed', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Letters, digits, ".", "_" and "-", starting with a letter or digit; 1–63 characters. Never a path. */
export const DISK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** The largest disk the API accepts, in GiB (64 TiB); a service may set a lower limit. */
export const MAX_DISK_SIZE_GIB = 65_536;
export const GIB = 1024 ** 3;

/** The device id a disk has on a VM (vm-operator's `deviceId`): QEMU ids must start with a letter. */
export function volumeDeviceId(diskId: string): string {
  return `vol-${diskId}`;
}

/** Body of `POST /disks` and the request of `volume-daemon.disk.create`. */
export class CreateDiskRequest {
  /**
   * Unique among the disks that exist; optional (seed 004's disks have none): volume-daemon names the
   * disk `disk-<first 8 chars of its id>`. The file is named after the disk id, never after this.
   */
  @ApiPropertyOptional({
    example: 'data-1',
    pattern: DISK_NAME_PATTERN.source,
    description:
      'Unique among the disks that exist (409 otherwise). Optional: without it the disk is named `disk-<first 8 characters of its id>`.',
  })
  // Only an absent name is defaulted: null is a name given, and refused as before.
  @ValidateIf((b: CreateDiskRequest) => b.name !== undefined)
  @IsString()
  @Matches(DISK_NAME_PATTERN, {
    message: 'name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name?: string;

  /** Virtual size in GiB (whole GiB; the image is sparse). */
  @ApiProperty({ example: 10, minimum: 1, maximum: MAX_DISK_SIZE_GIB, description: 'Size in GiB.' })
  @IsInt()
  @Min(1)
  @Max(MAX_DISK_SIZE_GIB)
  size!: number;

  @ApiPropertyOptional({ enum: DISK_FORMATS, default: 'qcow2' })
  @IsOptional()
  @IsIn(DISK_FORMATS)
  format?: DiskFormat;
}

/** Query of `GET /disks`: a page of disks, oldest first. */
export class ListDisksRequest extends PageQuery {
  /** Only disks attached (or being attached) to this VM; an id Ferry does not know lists none. */
  @ApiPropertyOptional(RESOURCE_ID_API)
  @IsOptional()
  @IsResourceId()
  vmId?: string;

  @ApiPropertyOptional({ enum: DISK_STATES })
  @IsOptional()
  @IsIn(DISK_STATES)
  state?: DiskState;
}

/** Request naming one disk. */
export class DiskIdRequest {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;
}

/** Fencing: the generation the caller last saw; a stale one gets CONFLICT and changes nothing. */
export class FencedRequest {
  @ApiPropertyOptional({ description: 'The disk generation the caller last saw (or send If-Match).' })
  @IsOptional()
  @IsInt()
  @Min(0)
  expectedGeneration?: number;
}

/** The VM of `POST /disks/{id}/attach`, under Ferry's name or seed 004's. */
const ATTACH_VM_FIELD = fieldAlias('vmId', 'vm_id');

/**
 * Body of `POST /disks/{id}/attach`. The VM goes under seed 004's name, `vm_id` (the API's own case),
 * or `vmId`, as Ferry's clients have sent it; one of them is required, and when both are given they
 * must be equal. The gateway sends volume-daemon an `AttachDiskRequest` (`attachDiskRequestOf`).
 */
export class AttachDiskBody extends FencedRequest {
  /** The VM to attach the disk to, as Ferry's clients have sent it; required unless `vm_id` is given. */
  @ApiPropertyOptional({
    ...RESOURCE_ID_API,
    description: `The VM to attach the disk to, as Ferry's clients have sent it. Required unless \`vm_id\` is given. ${RESOURCE_ID_API.description}`,
  })
  @IsResourceId()
  @ATTACH_VM_FIELD.primary()
  vmId?: string;

  /** The same VM under seed 004's name (snake_case, like the API's other fields); equal to `vmId` if both are given. */
  @ApiPropertyOptional({
    ...RESOURCE_ID_API,
    description: `The same VM under seed 004's name (snake_case, like the API's other fields). Required unless \`vmId\` is given; if both are given they must be equal. ${RESOURCE_ID_API.description}`,
  })
  @IsResourceId()
  @ATTACH_VM_FIELD.alias()
  vm_id?: string;
}

/** Body of `POST /disks/{id}/detach` (optional). */
export class DetachDiskBody extends FencedRequest {
  /** How long the guest gets to release the device, in ms (default 10000). */
  @ApiPropertyOptional({ minimum: 100, maximum: 120_000 })
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(120_000)
  timeoutMs?: number;
}

export class DeleteDiskRequest extends FencedRequest {
  @IsResourceId()
  id!: string;
}

/** Request of `volume-daemon.disk.attach`: the VM under its one name, `vmId`. */
export class AttachDiskRequest extends FencedRequest {
  @IsResourceId()
  id!: string;

  @IsResourceId()
  vmId!: string;
}

/** The request volume-daemon takes for a valid body; `expectedGeneration` is the body's or If-Match's. */
export function attachDiskRequestOf(
  id: string,
  body: AttachDiskBody,
  expectedGeneration: number | undefined,
): AttachDiskRequest {
  return { id, vmId: ATTACH_VM_FIELD.valueOf(body), expectedGeneration };
}

export class DetachDiskRequest extends DetachDiskBody {
  @IsResourceId()
  id!: string;
}

/** A disk as the API shows it. */
export class DiskDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'data-1' })
  name!: string;
  /** Virtual size in GiB. */
  @ApiProperty({ description: 'Virtual size in GiB.' })
  size!: number;
  @ApiProperty()
  size_bytes!: number;
  @ApiProperty({ enum: DISK_FORMATS })
  format!: DiskFormat;
  @ApiProperty({ enum: DISK_STATES })
  state!: DiskState;
  /** The VM it is attached (or being attached) to. */
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  vm_id!: string | null;
  /** The guest device path, e.g. `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_<serial>`; set once verified. */
  @ApiProperty({ nullable: true, type: String })
  mount_point!: string | null;
  /** Bumped by every change; send it as If-Match to fence stale requests. */
  @ApiProperty()
  generation!: number;
  /** The operation in flight on this disk, if any. */
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  operation_id!: string | null;
  /** The image file on the host; shown to admins only. */
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Admins only.' })
  path?: string | null;
  /** Why the disk is in `error`. */
  @ApiProperty({ nullable: true, type: String })
  last_error!: string | null;
  @ApiProperty()
  created_at!: string;
  @ApiProperty()
  updated_at!: string;
}

/** A page of `volume-daemon.disk.list`. */
export class DiskListDto {
  @ApiProperty({ type: [DiskDto] })
  items!: DiskDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}

export class OperationStepDto {
  /** e.g. `attach-device`, `verify-device`, `power-off`, `emergency-reattach`. */
  @ApiProperty()
  name!: string;
  @ApiProperty({ enum: ['done', 'failed', 'skipped'] })
  status!: 'done' | 'failed' | 'skipped';
  @ApiProperty()
  at!: string;
  @ApiPropertyOptional()
  detail?: string;
}

/** The seed's device correlation: where the guest sees the disk. */
export class DeviceCorrelationDto {
  @ApiProperty({ format: 'uuid' })
  vm_id!: string;
  @ApiProperty()
  device_id!: string;
  @ApiProperty({ example: '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_3f2a9c1e0b7d4e6f8a1b' })
  by_id_path!: string;
  @ApiProperty({ example: 'scsi0.0:0:0' })
  address!: string;
  @ApiProperty()
  live!: boolean;
  @ApiProperty()
  verified_at!: string;
}

export class OperationErrorDto {
  @ApiProperty()
  code!: string;
  @ApiProperty()
  message!: string;
}

export const IMPORT_STAGES = ['fetch', 'flatten', 'convert', 'verify'] as const;
export type ImportStage = (typeof IMPORT_STAGES)[number];
/** Stages of the byte-moving operations: an import's, a fix's (virt-v2v, then the edits), a convert's. */
export const OPERATION_STAGES = [...IMPORT_STAGES, 'virt-v2v', 'guest-edits'] as const;
export type OperationStage = (typeof OPERATION_STAGES)[number];
export const STAGE_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type StageState = (typeof STAGE_STATES)[number];

/** One stage of an import (seed 001's FETCH, FLATTEN, CONVERT, then the verification). */
export class OperationStageDto {
  @ApiProperty({ enum: OPERATION_STAGES })
  name!: OperationStage;
  @ApiProperty({ enum: STAGE_STATES })
  state!: StageState;
  /** Bytes this stage has moved (guest-visible bytes for convert and verify). */
  @ApiProperty()
  bytes_done!: number;
  @ApiProperty({ nullable: true, type: Number })
  bytes_total!: number | null;
  @ApiProperty({ nullable: true, type: String })
  started_at!: string | null;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
  /** What the stage found or did, e.g. the layers it resolved or the compare's result. */
  @ApiPropertyOptional()
  detail?: string;
}

/** Where a byte-moving operation is, for a progress bar. */
export class OperationProgressDto {
  @ApiProperty({ enum: OPERATION_STAGES, description: 'The stage running now (the last one once finished).' })
  stage!: OperationStage;
  @ApiProperty({ type: [OperationStageDto] })
  stages!: OperationStageDto[];
  /** Of the running stage. */
  @ApiProperty()
  bytes_done!: number;
  @ApiProperty({ nullable: true, type: Number })
  bytes_total!: number | null;
  /** Share of the running stage done, 0 to 100. */
  @ApiProperty()
  percent!: number;
  /** Over the last few seconds of the running stage. */
  @ApiProperty({ nullable: true, type: Number })
  rate_bytes_per_s!: number | null;
  @ApiProperty({ nullable: true, type: Number })
  eta_seconds!: number | null;
  @ApiProperty()
  updated_at!: string;
}

/** A volume operation record (seed 002). */
export class VolumeOperationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: OPERATION_TYPES })
  type!: OperationType;
  @ApiProperty({ enum: OPERATION_STATUSES })
  status!: OperationStatus;
  @ApiProperty({ format: 'uuid' })
  disk_id!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  vm_id!: string | null;
  /** The request's parameters (secrets never appear here). */
  @ApiProperty({ type: Object })
  params!: Record<string, unknown>;
  @ApiProperty({ type: [OperationStepDto] })
  steps!: OperationStepDto[];
  @ApiProperty({ type: DeviceCorrelationDto, nullable: true })
  correlation!: DeviceCorrelationDto | null;
  /** Stages with bytes, rate and ETA (imports); null for operations that move no bytes. */
  @ApiProperty({ type: () => OperationProgressDto, nullable: true })
  progress!: OperationProgressDto | null;
  @ApiProperty({ type: OperationErrorDto, nullable: true })
  error!: OperationErrorDto | null;
  /** What the operation produced, when it produces more than a disk (a fix: each edit's outcome). */
  @ApiProperty({ type: Object, nullable: true })
  result!: Record<string, unknown> | null;
  /** A cancel was asked for (`volume-daemon.operation.cancel`); the operation ends `cancelled` soon. */
  @ApiProperty()
  cancel_requested!: boolean;
  @ApiProperty({ nullable: true, type: String })
  correlation_id!: string | null;
  @ApiProperty()
  created_at!: string;
  @ApiProperty({ nullable: true, type: String })
  started_at!: string | null;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
}

/** Request naming one operation. */
export class OperationIdRequest {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;
}

/** Request of the power-state subjects. */
export class VmPowerRequest {
  @IsResourceId()
  vmId!: string;
}

export class PowerOffRequest extends VmPowerRequest {
  /** How long to wait for the VM to be off, in ms (default 30000). */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  timeoutMs?: number;
}

export interface VmPowerDto {
  vmId: string;
  /** The backend's state name. */
  state: string;
  /** true unless the VM is certainly off. */
  running: boolean;
}

/** Request of `volume-daemon.vm.detach-disks`: every disk attached to the VM, detached one by one. */
export class DetachVmDisksRequest {
  @IsResourceId()
  vmId!: string;
  /** How long the guest gets to release each device, in ms (default 10000). */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(120_000)
  timeoutMs?: number;
}

/** Reply of `volume-daemon.vm.detach-disks`: the disks it detached, now `available`. */
export interface VmDisksDetachedDto {
  vmId: string;
  detached: DiskDto[];
}

/** One disk `volume-daemon.vm.detach-disks` could not detach (its error's `details.failed`). */
export interface DiskDetachFailure {
  id: string;
  name: string;
  /** The detach operation that failed; null when none started (another operation held the disk). */
  operation_id: string | null;
  code: string;
  message: string;
}

/** Body of `POST /cleanup/test-failover` (seed 002's daemon call). */
export class CleanupTestFailoverRequest {
  /** The test VM the volume is attached to now. An id Ferry does not know is NOT_FOUND, naming it. */
  @ApiProperty({ ...RESOURCE_ID_API, example: 'vm-12345678-test' })
  @IsResourceId()
  test_vm_id!: string;
  /** The disk (volume) to move back. */
  @ApiProperty({ ...RESOURCE_ID_API, example: 'vol-87654321' })
  @IsResourceId()
  volume_id!: string;
  /** The appliance VM that gets the volume back. */
  @ApiProperty({ ...RESOURCE_ID_API, example: 'vm-oma-appliance' })
  @IsResourceId()
  oma_vm_id!: string;
  /** Delete the test VM once the volume is safe. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  delete_vm?: boolean;
  /** Power the test VM off if it runs (otherwise a running test VM is a 409). */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  force_clean?: boolean;
}
