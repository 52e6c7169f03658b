import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../common/page';
import type { GuestFacts, LocalDiskFacts } from './guest-facts';
import type { VsphereVmFacts } from './vsphere-facts';

/** Seed 000's inspector states. */
export const INSPECTOR_STATES = [
  'ready',
  'started',
  'running',
  'canceling',
  'canceled',
  'done',
  'error',
] as const;
export type InspectorState = (typeof INSPECTOR_STATES)[number];
/** States in which the inspector is busy: a new start is refused (423). */
export const INSPECTOR_BUSY_STATES: readonly InspectorState[] = ['started', 'running', 'canceling'];

/** Seed 000's per-VM inspection states; `not_found` means "not in the current run's queue". */
export const INSPECTION_STATES = [
  'pending',
  'running',
  'completed',
  'canceled',
  'error',
  'not_found',
] as const;
export type InspectionState = (typeof INSPECTION_STATES)[number];

/**
 * Where the VMs come from. `vsphere` is named by `VcenterCredentials`; `local` are vm-operator's VMs;
 * `noop` inspects nothing (a zero-cost work unit for demos, tests and benchmarks) and is refused unless
 * the inspector runs with `INSPECTOR_NOOP_SOURCE=true`.
 */
export const INSPECTION_SOURCE_TYPES = ['vsphere', 'local', 'noop'] as const;
export type InspectionSourceType = (typeof INSPECTION_SOURCE_TYPES)[number];

/** The name of every snapshot the inspector takes (seed 000). */
export const INSPECTOR_SNAPSHOT_NAME = 'assisted-migration-deep-inspector';

/** A VM id: a vSphere MoRef (`vm-42`) or inventory path, or a vm-operator VM id or name. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
export const INSPECTOR_VM_ID_PATTERN = /^[^\0-\x1f\x7f]{1,512}$/;
const VM_ID_MESSAGE = 'each vmId must be a non-empty string of at most 512 printable characters';

export class VcenterCredentials {
  /** vCenter (or ESXi) address; `/sdk` is added when the path is empty. */
  @ApiProperty({ example: 'https://vcenter.example.com' })
  @IsString()
  @Matches(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, { message: 'url must be an http(s) URL' })
  url!: string;

  @ApiProperty({ example: 'admin@vsphere.local' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  username!: string;

  /**
   * Kept only for the run: encrypted at rest, never logged, never returned. Across the broker it
   * travels sealed for the inspector (`sealed:v1:…`, about 4/3 of the password plus 90 characters).
   */
  @ApiProperty({ example: 'secret', writeOnly: true, maxLength: 1536 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(1536)
  password!: string;
}

/** `inspector.wire.key`'s answer. */
export interface WireKeyDto {
  /** Raw X25519 public key, base64. */
  publicKey: string;
}

export class InspectionSourceSpec {
  @ApiProperty({ enum: ['local', 'noop'], description: 'vSphere is named by VcenterCredentials instead' })
  @IsIn(['local', 'noop'])
  type!: 'local' | 'noop';

  /** `noop` only: how long each VM's (empty) inspection takes, in ms. */
  @ApiPropertyOptional({ minimum: 0, maximum: 600000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  delayMs?: number;

  /** `noop` only: how long a canceled inspection takes to wind down (as a snapshot removal would), in ms. */
  @ApiPropertyOptional({ minimum: 0, maximum: 600000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  cancelDelayMs?: number;

  /** `noop` only: VMs whose inspection fails (to exercise per-VM errors). */
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @Matches(INSPECTOR_VM_ID_PATTERN, { each: true, message: VM_ID_MESSAGE })
  failVmIds?: string[];
}

/** Body of `POST /vms/inspector`: `VcenterCredentials` or `source`, and the VMs in queue order. */
export class StartInspectionRequest {
  @ApiPropertyOptional({ type: VcenterCredentials })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => VcenterCredentials)
  VcenterCredentials?: VcenterCredentials;

  @ApiPropertyOptional({ type: InspectionSourceSpec })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => InspectionSourceSpec)
  source?: InspectionSourceSpec;

  @ApiProperty({ type: [String], example: ['vm-1001', 'vm-1002', 'vm-1003'] })
  @IsArray()
  @ArrayMinSize(1, { message: 'vmIds must name at least one VM' })
  @ArrayMaxSize(100_000)
  @Matches(INSPECTOR_VM_ID_PATTERN, { each: true, message: VM_ID_MESSAGE })
  vmIds!: string[];
}

/** Body of `PATCH /vms/inspector` (a JSON array in HTTP; wrapped over NATS). */
export class AddVmsRequest {
  @IsArray()
  @ArrayMinSize(1, { message: 'the body must be a non-empty array of VM ids' })
  @ArrayMaxSize(100_000)
  @Matches(INSPECTOR_VM_ID_PATTERN, { each: true, message: VM_ID_MESSAGE })
  vmIds!: string[];
}

export class InspectionVmRequest {
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'id must be a non-empty VM id' })
  id!: string;
}

/** `inspector.vm.history`: one page of a VM's inspections, newest first. */
export class InspectionHistoryRequest extends PageQuery {
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'id must be a non-empty VM id' })
  id!: string;
}

/** Query of `GET /vms/inspector/queue`: one page of the run's queue, first queued first. */
export class InspectionQueueRequest extends PageQuery {
  @ApiPropertyOptional({ enum: INSPECTION_STATES.filter((s) => s !== 'not_found') })
  @IsOptional()
  @IsIn(INSPECTION_STATES.filter((s) => s !== 'not_found'))
  state?: Exclude<InspectionState, 'not_found'>;
}

export class InspectorStatusDto {
  @ApiProperty({ enum: INSPECTOR_STATES })
  state!: InspectorState;
  /** Why the inspector stopped (state `error`). */
  @ApiPropertyOptional()
  error?: string;
}

/** What inspecting one VM found. Facts nobody could read are null, never guessed. */
export interface InspectionResults {
  source: InspectionSourceType;
  /** The id the VM was queued under. */
  vmId: string;
  /** When the inspection finished (ISO 8601). */
  inspectedAt: string;
  /** How long the inspection took, snapshot to removal, in ms. */
  durationMs: number;
  /** The snapshot the inspection read; always removed by the time results exist. */
  snapshot: { name: string; removed: boolean } | null;
  /** vSphere's view of the VM (source `vsphere`). */
  vsphere?: VsphereVmFacts;
  /** The disks of a vm-operator VM, from the image files (source `local`). */
  disks?: LocalDiskFacts[];
  /** What the guest's filesystems say (deep inspection, source `local`); null when no OS was found. */
  guest?: GuestFacts | null;
  /** What stands in the way of running this VM on KVM, worst first. */
  concerns: InspectionConcern[];
}

export const CONCERN_SEVERITIES = ['blocker', 'warning', 'info'] as const;
export type ConcernSeverity = (typeof CONCERN_SEVERITIES)[number];

export interface InspectionConcern {
  /** Stable code, e.g. `RDM_DISK`, `INDEPENDENT_DISK`, `SHARED_DISK`, `FSTAB_BY_PATH`. */
  code: string;
  severity: ConcernSeverity;
  message: string;
  /** What it is about (a disk label, a device, an fstab line), when it is about one thing. */
  subject?: string;
}

export class InspectionStatusDto {
  @ApiProperty({ enum: INSPECTION_STATES })
  state!: InspectionState;
  @ApiPropertyOptional()
  error?: string;
  /** Present once the VM is inspected (state `completed`). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  results?: InspectionResults;
}

/** A VM's place in one run's queue: its state there, and when it was queued, started and ended. */
export class QueuePlaceDto {
  @ApiProperty({ enum: INSPECTION_STATES })
  state!: InspectionState;
  @ApiPropertyOptional()
  error?: string;
  /** Position in its run's queue: VMs are inspected in this order. */
  @ApiProperty()
  sequence!: number;
  @ApiProperty()
  queuedAt!: string;
  @ApiPropertyOptional()
  startedAt?: string;
  @ApiPropertyOptional()
  finishedAt?: string;
}

export class InspectionHistoryItemDto extends QueuePlaceDto {
  @ApiProperty({ format: 'uuid' })
  runId!: string;
  @ApiProperty({ enum: INSPECTION_SOURCE_TYPES })
  source!: InspectionSourceType;
  /** Present once the VM is inspected (state `completed`). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  results?: InspectionResults;
}

/** How many of a completed inspection's concerns are of each severity. */
export class ConcernCountsDto {
  @ApiProperty()
  blocker!: number;
  @ApiProperty()
  warning!: number;
  @ApiProperty()
  info!: number;
}

/** A VM in the run's queue, without its results (`GET /vms/{id}/inspector` has them). */
export class InspectionQueueItemDto extends QueuePlaceDto {
  @ApiProperty()
  vmId!: string;
  /** Present once the VM is inspected (state `completed`). */
  @ApiPropertyOptional({ type: ConcernCountsDto })
  concerns?: ConcernCountsDto;
}

export class InspectionQueueDto {
  /** The run the queue belongs to: the latest start that connected; null before any did. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  runId!: string | null;
  @ApiProperty({ enum: INSPECTION_SOURCE_TYPES, nullable: true })
  source!: InspectionSourceType | null;
  /** The run's state (the inspector's, unless a later start is still connecting or failed to). */
  @ApiProperty({ enum: INSPECTOR_STATES })
  state!: InspectorState;
  @ApiProperty({ type: [InspectionQueueItemDto] })
  items!: InspectionQueueItemDto[];
  /** The cursor of the next page; null on the last. */
  @ApiProperty({ type: String, nullable: true })
  next_cursor!: string | null;
}

export class InspectionHistoryDto {
  @ApiProperty()
  vmId!: string;
  @ApiProperty({ type: [InspectionHistoryItemDto] })
  items!: InspectionHistoryItemDto[];
  /** The cursor of the next page; null on the last. */
  @ApiProperty({ type: String, nullable: true })
  next_cursor!: string | null;
}
