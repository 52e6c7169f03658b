import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
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
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';
import { DISK_FORMATS } from '../disks/disk.dto';
import type { DiskFormat } from '../disks/disk.dto';
import { HOST_NAME_PATTERN } from '../hosts/host.dto';
import { INSPECTOR_VM_ID_PATTERN, VcenterCredentials } from '../inspector/inspector.dto';
import { TEMPLATE_NAME_PATTERN } from '../templates/template.dto';
import { VM_NAME_PATTERN } from '../vms/vm.dto';
import { GUEST_FIX_NAMES } from './guest-fix.dto';
import type { GuestFixName } from './guest-fix.dto';

/** `plan`: stop after PLAN with nothing changed anywhere (seed 001's dry-run); `migrate`: go on. */
export const MIGRATION_MODES = ['plan', 'migrate'] as const;
export type MigrationMode = (typeof MIGRATION_MODES)[number];

/** `auto`: cut over as soon as VALIDATE passes; `manual`: wait for `POST /migrations/{id}/cutover`. */
export const CUTOVER_MODES = ['manual', 'auto'] as const;
export type CutoverMode = (typeof CUTOVER_MODES)[number];

/** Seed 001's pipeline in its order, never another, then the cutover. */
export const MIGRATION_STAGES = [
  'fetch',
  'flatten',
  'inspect',
  'plan',
  'fix',
  'convert',
  'validate',
  'cutover',
] as const;
export type MigrationStageName = (typeof MIGRATION_STAGES)[number];

export const MIGRATION_STAGE_STATES = [
  'pending',
  'running',
  'done',
  'skipped',
  'failed',
  'canceled',
] as const;
export type MigrationStageState = (typeof MIGRATION_STAGE_STATES)[number];

/**
 * `pending → running → planned` (mode plan) | `blocked` (the plan found blockers) |
 * `awaiting_cutover` (manual cutover) `→ running → completed`; `failed`; `canceling → canceled`.
 */
export const MIGRATION_STATUSES = [
  'pending',
  'running',
  'planned',
  'blocked',
  'awaiting_cutover',
  'completed',
  'failed',
  'canceling',
  'canceled',
] as const;
export type MigrationStatus = (typeof MIGRATION_STATUSES)[number];

/**
 * A migration in one of these holds its source VM: another migration of that VM is refused (409)
 * naming it. A failed one keeps holding it until it is deleted, because its copies (named after the
 * VM) are still there for a look.
 */
export const MIGRATION_ACTIVE_STATUSES: readonly MigrationStatus[] = [
  'pending',
  'running',
  'awaiting_cutover',
  'canceling',
  'failed',
];
/** Finished: nothing more happens to it. */
export const MIGRATION_FINAL_STATUSES: readonly MigrationStatus[] = [
  'planned',
  'blocked',
  'completed',
  'canceled',
];

/** The default of `validate.boot_success`: a systemd guest that reached its target, or a login prompt. */
export const DEFAULT_BOOT_SUCCESS = String.raw`Reached target .*(Multi-User System|Graphical Interface)|login: `;
/** The default of `validate.boot_failure`: what a guest prints when its boot went wrong. */
export const DEFAULT_BOOT_FAILURE = String.raw`Kernel panic|emergency mode|Give root password for maintenance|dracut-initqueue timeout`;

/** Where the VM comes from: a vSphere VM, named by MoRef or inventory path. */
export class MigrationSourceDto {
  /** The vCenter to read from; the password is kept encrypted only while the migration needs it. */
  @ApiProperty({ type: VcenterCredentials })
  @IsObject()
  @ValidateNested()
  @Type(() => VcenterCredentials)
  VcenterCredentials!: VcenterCredentials;

  /** A MoRef (`vm-1001`) or an inventory path (`/DC0/vm/web01`). */
  @ApiProperty({ example: 'vm-1001' })
  @IsString()
  @Matches(INSPECTOR_VM_ID_PATTERN, { message: 'vmId must be 1-512 printable characters' })
  vmId!: string;
}

/** Where and as what the VM is to run. Everything is derived from the source when absent. */
export class MigrationTargetDto {
  /** An existing vm-operator template; default: one derived from the source (vCPUs, memory, firmware). */
  @ApiPropertyOptional({ example: 'web-large', pattern: TEMPLATE_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'template must be a template name' })
  template?: string;

  /** A host (by name) placement must choose; default: the best candidate. */
  @ApiPropertyOptional({ example: 'kvm-01' })
  @IsOptional()
  @IsString()
  @Matches(HOST_NAME_PATTERN, { message: 'host must be a host name' })
  host?: string;

  /** The production VM's name; default the source VM's name, lower-cased, other characters as `-`. */
  @ApiPropertyOptional({ example: 'web01', pattern: VM_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(VM_NAME_PATTERN, {
    message: 'name must be 1-63 lowercase letters, digits or "-", starting with a letter or digit',
  })
  name?: string;

  /** Format of the final volumes; default qcow2. */
  @ApiPropertyOptional({ enum: DISK_FORMATS, default: 'qcow2' })
  @IsOptional()
  @IsIn(DISK_FORMATS)
  format?: DiskFormat;

  /** Keep a static IP configuration on the new NIC (as Forklift does) instead of turning it into DHCP. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  keep_static_ip?: boolean;
}

/** How VALIDATE (and the cutover's own check) decides that the converted VM boots. */
export class MigrationValidateDto {
  /** How long the guest may take to reach its boot target, in seconds (10 to 3600; default 300). */
  @ApiPropertyOptional({ minimum: 10, maximum: 3600, default: 300 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(3600)
  boot_timeout_s?: number;

  /** Also require an address on the VM's first NIC (from the DHCP lease), within the same time. */
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  expect_ip?: boolean;

  /** A regular expression the serial console must show for the boot to pass (default DEFAULT_BOOT_SUCCESS). */
  @ApiPropertyOptional({ example: DEFAULT_BOOT_SUCCESS })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  boot_success?: string;

  /** A regular expression that fails the boot at once when the console shows it (default DEFAULT_BOOT_FAILURE). */
  @ApiPropertyOptional({ example: DEFAULT_BOOT_FAILURE })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  boot_failure?: string;
}

/** Body of `POST /migrations` and the request of `cleanup.migration.create`. */
export class CreateMigrationRequest {
  @ApiProperty({ type: MigrationSourceDto })
  @IsObject()
  @ValidateNested()
  @Type(() => MigrationSourceDto)
  source!: MigrationSourceDto;

  @ApiProperty({ enum: MIGRATION_MODES })
  @IsIn(MIGRATION_MODES)
  mode!: MigrationMode;

  @ApiPropertyOptional({ type: MigrationTargetDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MigrationTargetDto)
  target?: MigrationTargetDto;

  /** Which of Ferry's fixes (and `virt-v2v`) to apply; default all that apply. */
  @ApiPropertyOptional({ type: [String], enum: [...GUEST_FIX_NAMES, 'virt-v2v'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @ArrayUnique()
  @IsIn([...GUEST_FIX_NAMES, 'virt-v2v'], { each: true })
  fixes?: (GuestFixName | 'virt-v2v')[];

  @ApiPropertyOptional({ type: MigrationValidateDto })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => MigrationValidateDto)
  validate?: MigrationValidateDto;

  /** Default `manual`. */
  @ApiPropertyOptional({ enum: CUTOVER_MODES, default: 'manual' })
  @IsOptional()
  @IsIn(CUTOVER_MODES)
  cutover?: CutoverMode;

  /** Who asked (set by the gateway from the API key). */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  requested_by?: string;
}

/** Request naming one migration. */
export class MigrationIdRequest {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;
}

/** Request of `cleanup.migration.cancel` (`DELETE /migrations/{id}`). */
export class CancelMigrationRequest extends MigrationIdRequest {
  /** Keep Ferry's copies (volumes, the derived template) instead of removing them. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  keep?: boolean;
}

/** Query of `DELETE /migrations/{id}`. */
export class CancelMigrationQuery {
  /** `true`: keep Ferry's copies (volumes, the derived template; a production VM stopped) for a look. */
  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  keep?: boolean;
}

/** Query of `GET /migrations`. */
/** Query of `GET /migrations`: a page of migrations, newest first. */
export class ListMigrationsRequest extends PageQuery {
  @ApiPropertyOptional({ enum: MIGRATION_STATUSES })
  @IsOptional()
  @IsIn(MIGRATION_STATUSES)
  status?: MigrationStatus;
}

/** Bytes a stage has moved, for a progress bar. */
export class MigrationProgressDto {
  @ApiProperty()
  bytes_done!: number;
  @ApiProperty({ nullable: true, type: Number })
  bytes_total!: number | null;
}

/** One stage of seed 001's pipeline (or the cutover). */
export class MigrationStageDto {
  @ApiProperty({ enum: MIGRATION_STAGES })
  name!: MigrationStageName;
  @ApiProperty({ enum: MIGRATION_STAGE_STATES })
  state!: MigrationStageState;
  @ApiProperty({ nullable: true, type: String })
  started_at!: string | null;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
  /** How many times it was started (a resume after a crash starts it again). */
  @ApiProperty()
  attempts!: number;
  /** Where it moves bytes (fetch, flatten, convert): done and total; null otherwise. */
  @ApiProperty({ type: MigrationProgressDto, nullable: true })
  progress!: MigrationProgressDto | null;
  /** What it found or did, in a sentence. */
  @ApiProperty({ nullable: true, type: String })
  detail!: string | null;
  @ApiProperty({ nullable: true, type: String })
  error!: string | null;
}

/** One volume the migration made: a copy of one source disk. */
export class MigrationVolumeDto {
  @ApiProperty({ format: 'uuid' })
  disk_id!: string;
  @ApiProperty({ example: 'web01-disk1' })
  name!: string;
  /** 1-based, in the source VM's disk order. */
  @ApiProperty()
  index!: number;
  /** The source disk's vSphere device key. */
  @ApiProperty({ example: '2000' })
  source_key!: string;
  @ApiProperty()
  size_bytes!: number;
  /** The import (volume operation) that brought it in. */
  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  import_operation_id!: string | null;
}

export class MigrationErrorDto {
  @ApiProperty()
  code!: string;
  @ApiProperty()
  message!: string;
  /** The stage it failed in, if any. */
  @ApiProperty({ nullable: true, enum: MIGRATION_STAGES })
  stage!: MigrationStageName | null;
}

/** Where a migration comes from, as MigrationDto shows it (the request's MigrationSourceDto has credentials). */
export class MigrationSourceViewDto {
  @ApiProperty({ description: 'The vCenter, URL only.' })
  vcenter!: string;
  @ApiProperty()
  vm_id!: string;
  @ApiProperty()
  moref!: string;
  @ApiProperty()
  vm_name!: string;
}

export class MigrationTargetViewDto {
  @ApiProperty({ type: String, nullable: true })
  template!: string | null;
  @ApiProperty({ type: String, nullable: true })
  host!: string | null;
  @ApiProperty()
  name!: string;
  @ApiProperty({ enum: DISK_FORMATS })
  format!: DiskFormat;
  @ApiProperty()
  keep_static_ip!: boolean;
}

export class MigrationValidateViewDto {
  @ApiProperty()
  boot_timeout_s!: number;
  @ApiProperty()
  expect_ip!: boolean;
  @ApiProperty()
  boot_success!: string;
  @ApiProperty()
  boot_failure!: string;
}

/** A migration as the API shows it (no secret). */
export class MigrationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: MIGRATION_STATUSES })
  status!: MigrationStatus;
  @ApiProperty({ enum: MIGRATION_MODES })
  mode!: MigrationMode;
  @ApiProperty({ enum: CUTOVER_MODES })
  cutover!: CutoverMode;
  /** The vCenter (URL only), the VM as asked for, its MoRef and name. */
  @ApiProperty({ type: () => MigrationSourceViewDto })
  source!: { vcenter: string; vm_id: string; moref: string; vm_name: string };
  /** What was asked for; the plan says what was chosen. */
  @ApiProperty({ type: () => MigrationTargetViewDto })
  target!: {
    template: string | null;
    host: string | null;
    name: string;
    format: DiskFormat;
    keep_static_ip: boolean;
  };
  /** The fixes asked for (null: all that apply). */
  @ApiProperty({ type: [String], nullable: true })
  fixes!: string[] | null;
  @ApiProperty({ type: () => MigrationValidateViewDto })
  validate!: { boot_timeout_s: number; expect_ip: boolean; boot_success: string; boot_failure: string };
  @ApiProperty({ type: [MigrationStageDto] })
  stages!: MigrationStageDto[];
  @ApiProperty({ type: [MigrationVolumeDto] })
  volumes!: MigrationVolumeDto[];
  /** The test failover that VALIDATE ran (seed 002's job). */
  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  failover_job_id!: string | null;
  /** The VM the cutover created. */
  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  production_vm_id!: string | null;
  @ApiProperty({ type: MigrationErrorDto, nullable: true })
  error!: MigrationErrorDto | null;
  /** Whether a cancel keeps Ferry's copies. */
  @ApiProperty()
  keep!: boolean;
  @ApiProperty({ nullable: true, type: String })
  requested_by!: string | null;
  @ApiProperty({ nullable: true, type: String })
  correlation_id!: string | null;
  @ApiProperty()
  created_at!: string;
  @ApiProperty()
  updated_at!: string;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
}

export class MigrationListDto {
  @ApiProperty({ type: [MigrationDto] })
  items!: MigrationDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}
