import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
  Matches,
} from 'class-validator';
import { PageQuery } from '../common/page';
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';
import { TEMPLATE_NAME_PATTERN } from '../templates/template.dto';

/** The seed's FailoverJob statuses. */
export const FAILOVER_JOB_STATUSES = [
  'pending',
  'running',
  'test_active',
  'cleanup_running',
  'cleanup_completed',
  'failed',
  'cleanup_failed',
] as const;
export type FailoverJobStatus = (typeof FAILOVER_JOB_STATUSES)[number];

/** Statuses in which a job holds its VM: no other failover or cleanup for that VM may start. */
export const FAILOVER_ACTIVE_STATUSES: readonly FailoverJobStatus[] = [
  'pending',
  'running',
  'test_active',
  'cleanup_running',
  'cleanup_failed',
];

export const FAILOVER_STEP_STATUSES = ['pending', 'running', 'done', 'failed', 'skipped'] as const;
export type FailoverStepStatus = (typeof FAILOVER_STEP_STATUSES)[number];

/** `failover` boots the test VM; `cleanup` puts everything back (also after a failed failover). */
export const FAILOVER_PHASES = ['failover', 'cleanup'] as const;
export type FailoverPhase = (typeof FAILOVER_PHASES)[number];

/**
 * A source VM name as it appears in a URL: letters, digits, `.`, `_` and `-`, at most 49 characters
 * (so `<name>-test-<8 hex>` is still a valid VM name). No `/`, no `..`, no spaces.
 */
export const FAILOVER_VM_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,48}$/;
export const FAILOVER_VM_NAME_MESSAGE =
  'vm_name must be 1-49 letters, digits, ".", "_" or "-", starting with a letter or digit';

export class FailoverVmNameRequest {
  @ApiProperty({ example: 'pgwintestbios', pattern: FAILOVER_VM_NAME_PATTERN.source })
  @IsString()
  @Matches(FAILOVER_VM_NAME_PATTERN, { message: FAILOVER_VM_NAME_MESSAGE })
  vm_name!: string;
}

/** Body of `POST /failover/test/{vm_name}`. */
export class TestFailoverBody {
  /** The vm-operator template of the test VM; defaults to CLEANUP_TEST_VM_TEMPLATE. */
  @ApiPropertyOptional({ example: 'small' })
  @IsOptional()
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'template must be a template name' })
  template?: string;

  /**
   * The disks (volumes) to move to the test VM. Default: the disks attached to the appliance VM that
   * are named `<vm_name>-disk<N>`.
   */
  @ApiPropertyOptional({
    type: [String],
    description: 'Disk ids; one Ferry does not know is 404 NOT_FOUND, naming it.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(16)
  @ArrayUnique()
  @IsResourceId({ each: true })
  volumes?: string[];
}

/** Body of `POST /failover/cleanup/{vm_name}`. */
export class CleanupFailoverBody {
  /** Delete the test VM once its volumes are back on the appliance; defaults to CLEANUP_DELETE_VM. */
  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  delete_vm?: boolean;
}

/** `cleanup.failover.test`: the REST body, the VM from the path, and who asked (from the API key). */
export class TestFailoverRequest extends TestFailoverBody {
  @IsString()
  @Matches(FAILOVER_VM_NAME_PATTERN, { message: FAILOVER_VM_NAME_MESSAGE })
  vm_name!: string;
  @IsOptional()
  @IsString()
  requested_by?: string;
  /**
   * The test VM's NICs (a migration's VALIDATE gives the plan's, so the guest's fixed MAC pinning
   * is what is tested); default: vm-operator's default NIC.
   */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsObject({ each: true })
  nics?: { mac: string }[];
}

/** `cleanup.failover.cleanup`: the same, for a cleanup. */
export class CleanupFailoverRequest extends CleanupFailoverBody {
  @IsString()
  @Matches(FAILOVER_VM_NAME_PATTERN, { message: FAILOVER_VM_NAME_MESSAGE })
  vm_name!: string;
  @IsOptional()
  @IsString()
  requested_by?: string;
}

export class FailoverJobIdRequest {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;
}

/** Query of `GET /failover/jobs`: a page of jobs, newest first. */
export class ListFailoverJobsRequest extends PageQuery {
  @ApiPropertyOptional({ pattern: FAILOVER_VM_NAME_PATTERN.source })
  @IsOptional()
  @IsString()
  @Matches(FAILOVER_VM_NAME_PATTERN, { message: FAILOVER_VM_NAME_MESSAGE })
  vm_name?: string;

  @ApiPropertyOptional({ enum: FAILOVER_JOB_STATUSES })
  @IsOptional()
  @IsIn(FAILOVER_JOB_STATUSES)
  status?: FailoverJobStatus;
}

export class FailoverVolumeDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'pgwintestbios-disk0' })
  name!: string;
}

export class FailoverStepDto {
  /** Unique within the job: the step name, and for a per-volume step `:<volume name>`. */
  @ApiProperty({ example: 'return-volume:pgwintestbios-disk0' })
  key!: string;
  @ApiProperty({ example: 'return-volume' })
  name!: string;
  @ApiProperty({ enum: FAILOVER_PHASES })
  phase!: FailoverPhase;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  volume_id!: string | null;
  @ApiProperty({ enum: FAILOVER_STEP_STATUSES })
  status!: FailoverStepStatus;
  @ApiProperty({ nullable: true, type: String })
  started_at!: string | null;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
  /** What the step found or did, e.g. `test VM is running` or the volume operation it ran. */
  @ApiProperty({ nullable: true, type: String })
  detail!: string | null;
  @ApiProperty({ nullable: true, type: String })
  error!: string | null;
  /** How many times the step has been started (more than 1 after a resume). */
  @ApiProperty()
  attempts!: number;
}

/** Where a volume is, and what a person must do, when a cleanup could not finish. */
export class VolumeAttentionDto {
  @ApiProperty({ format: 'uuid' })
  volume_id!: string;
  @ApiProperty()
  volume_name!: string;
  /** The disk's state in volume-daemon, or `unknown` when it could not be read. */
  @ApiProperty({ example: 'error' })
  state!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  vm_id!: string | null;
  @ApiProperty({ example: 'attached to no VM' })
  where!: string;
  @ApiProperty({ example: 'POST /api/v1/failover/jobs/<id>/resume once the image is free' })
  action!: string;
}

export class FailoverErrorDto {
  @ApiProperty()
  code!: string;
  @ApiProperty()
  message!: string;
  @ApiPropertyOptional({ type: [VolumeAttentionDto] })
  volumes?: VolumeAttentionDto[];
}

/** The seed's FailoverJob, with its steps. */
export class FailoverJobDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'pgwintestbios' })
  vm_name!: string;
  @ApiProperty({ enum: ['test'] })
  type!: 'test';
  @ApiProperty({ enum: FAILOVER_JOB_STATUSES })
  status!: FailoverJobStatus;
  @ApiProperty({ enum: FAILOVER_PHASES })
  phase!: FailoverPhase;
  @ApiProperty({ example: 'small' })
  template!: string;
  @ApiProperty({ format: 'uuid' })
  appliance_vm_id!: string;
  @ApiProperty()
  appliance_vm_name!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  test_vm_id!: string | null;
  @ApiProperty({ example: 'pgwintestbios-test-1a2b3c4d' })
  test_vm_name!: string;
  @ApiProperty({ type: [FailoverVolumeDto] })
  volumes!: FailoverVolumeDto[];
  @ApiProperty()
  delete_vm!: boolean;
  @ApiProperty({ type: [FailoverStepDto] })
  steps!: FailoverStepDto[];
  /** Why the failover failed (its cleanup then put everything back), or why the cleanup stopped. */
  @ApiProperty({ type: FailoverErrorDto, nullable: true })
  error!: FailoverErrorDto | null;
  @ApiProperty({ nullable: true, type: String })
  requested_by!: string | null;
  @ApiProperty({ nullable: true, type: String })
  cleanup_requested_by!: string | null;
  @ApiProperty({ nullable: true, type: String })
  correlation_id!: string | null;
  @ApiProperty()
  created_at!: string;
  @ApiProperty()
  updated_at!: string;
  @ApiProperty({ nullable: true, type: String })
  finished_at!: string | null;
}

export class FailoverJobListDto {
  @ApiProperty({ type: [FailoverJobDto] })
  items!: FailoverJobDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}
