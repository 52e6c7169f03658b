import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  ValidateNested,
} from 'class-validator';
import type { GuestFileDto } from '../migrations/guest-fix.dto';
import type { GuestFacts, LocalDiskFacts } from './guest-facts';
import type { InspectionConcern } from './inspector.dto';
import { INSPECTOR_VM_ID_PATTERN, VcenterCredentials } from './inspector.dto';
import type { VsphereVmFacts } from './vsphere-facts';

/** Request of `inspector.vsphere.facts`: one vSphere VM, read without a snapshot. */
export class VsphereFactsRequest {
  @IsObject()
  @ValidateNested()
  @Type(() => VcenterCredentials)
  VcenterCredentials!: VcenterCredentials;

  /** A MoRef (`vm-42`) or an inventory path (`/DC0/vm/web01`). */
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'vmId must be a non-empty VM id' })
  vmId!: string;
}

/** What vSphere says of the VM, and what stands in the way of moving it (worst first). */
export interface VsphereFactsDto {
  facts: VsphereVmFacts;
  concerns: InspectionConcern[];
}

export const VSPHERE_POWER_TARGETS = ['poweredOff', 'poweredOn'] as const;
export type VspherePowerTarget = (typeof VSPHERE_POWER_TARGETS)[number];

/** Request of `inspector.vsphere.power`. */
export class VspherePowerRequest extends VsphereFactsRequest {
  /** The power state wanted: `PowerOffVM_Task` (a hard power-off) or `PowerOnVM_Task`. */
  @IsIn(VSPHERE_POWER_TARGETS)
  state!: VspherePowerTarget;
}

export interface VspherePowerDto {
  vmId: string;
  /** The power state now. */
  powerState: string;
  /** Whether a task was needed (false: it already was in that state). */
  changed: boolean;
}

/** One Ferry volume to inspect, in the order the appliance is to see them (sda, sdb, …). */
export class GuestInspectionDiskRef {
  @IsUUID()
  diskId!: string;
}

/** Request of `inspector.guest.inspect`. */
export class GuestInspectionRequest {
  /** The caller's id for this inspection: asking again with the same id returns the same job. */
  @IsUUID()
  id!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @ArrayUnique((d: GuestInspectionDiskRef) => d.diskId)
  @ValidateNested({ each: true })
  @Type(() => GuestInspectionDiskRef)
  disks!: GuestInspectionDiskRef[];

  /** Also read the files the guest fixes are planned from (libs/guest), in the same appliance boot. */
  @IsOptional()
  @IsBoolean()
  fixInputs?: boolean;
}

/** Request of `inspector.guest.get`. */
export class GuestInspectionIdRequest {
  @IsUUID()
  id!: string;
}

export const GUEST_INSPECTION_STATES = ['pending', 'running', 'done', 'failed'] as const;
export type GuestInspectionState = (typeof GUEST_INSPECTION_STATES)[number];

/** What a volume inspection found. */
export interface GuestInspectionResultDto {
  /** First pass of each disk (`deviceId` is the disk id). */
  disks: LocalDiskFacts[];
  guest: GuestFacts | null;
  guests: GuestFacts[];
  concerns: InspectionConcern[];
  /** The fix inputs, when asked for. */
  files: GuestFileDto[];
  /** The appliance device each disk was (`/dev/sda`, …), by disk id. */
  devices: Record<string, string>;
  /** libguestfs appliance boots it took (0 or 1). */
  applianceBoots: number;
  durationMs: number;
}

/** A deep inspection of Ferry volumes (the migration's INSPECT), run by the inspector and resumed after a crash. */
export interface GuestInspectionJobDto {
  id: string;
  state: GuestInspectionState;
  diskIds: string[];
  result: GuestInspectionResultDto | null;
  error: string | null;
  /** How many times it was started (a resume after a crash starts it again). */
  attempts: number;
  createdAt: string;
  finishedAt: string | null;
}
