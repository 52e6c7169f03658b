import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { PageQuery } from '../common/page';

/** What a sweep can find out of line between the records and reality. */
export const ISSUE_KINDS = [
  'vm_state_mismatch',
  'vm_process_missing',
  'qmp_unresponsive',
  'disk_missing',
  'disk_size_mismatch',
  'attachment_missing',
  'attachment_unknown',
  'orphan_process',
  'orphan_disk',
] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];

/** `log` records; `repair` asks the owning service to fix its record; `quarantine` moves an orphan disk file aside. */
export const REPAIR_POLICIES = ['log', 'repair', 'quarantine'] as const;
export type RepairPolicy = (typeof REPAIR_POLICIES)[number];

/** The policies each kind accepts (besides `log`). */
export const POLICIES_BY_KIND: Record<IssueKind, readonly RepairPolicy[]> = {
  vm_state_mismatch: ['log', 'repair'],
  vm_process_missing: ['log', 'repair'],
  qmp_unresponsive: ['log'],
  disk_missing: ['log'],
  disk_size_mismatch: ['log'],
  attachment_missing: ['log', 'repair'],
  attachment_unknown: ['log'],
  orphan_process: ['log'],
  orphan_disk: ['log', 'quarantine'],
};

export const SUBJECT_TYPES = ['vm', 'disk', 'attachment', 'process', 'file'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/** Query of `GET /coherence/issues`: a page of issues, newest first (first seen, then id). */
export class ListIssuesRequest extends PageQuery {
  /** true: open issues only; false: resolved ones only; absent: both. */
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  open?: boolean;

  @ApiPropertyOptional({ enum: ISSUE_KINDS })
  @IsOptional()
  @IsIn(ISSUE_KINDS)
  kind?: IssueKind;
}

export class IssueRepairDto {
  @ApiProperty({ enum: REPAIR_POLICIES })
  policy!: RepairPolicy;
  /** What was asked or done, e.g. `vm-operator.vm.reconcile` or `moved to /var/lib/ferry/disks/quarantine/x`. */
  @ApiProperty()
  action!: string;
  @ApiProperty({ enum: ['done', 'failed'] })
  outcome!: 'done' | 'failed';
  @ApiProperty()
  detail!: string;
  @ApiProperty()
  at!: string;
}

/** A coherence issue: a finding seen by enough consecutive sweeps. */
export class CoherenceIssueDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ enum: ISSUE_KINDS })
  kind!: IssueKind;
  @ApiProperty({ enum: SUBJECT_TYPES })
  subject_type!: SubjectType;
  /** The VM or disk id, `<vm id>/<device id>`, a pid, or a file path. */
  @ApiProperty()
  subject!: string;
  @ApiProperty({ example: 'qemu running' })
  expected!: string;
  @ApiProperty({ example: 'no process 4242' })
  observed!: string;
  @ApiProperty()
  open!: boolean;
  @ApiProperty()
  first_seen!: string;
  @ApiProperty()
  last_seen!: string;
  /** Sweeps that have seen it. */
  @ApiProperty()
  count!: number;
  @ApiProperty({ nullable: true, type: String })
  opened_at!: string | null;
  @ApiProperty({ nullable: true, type: String })
  resolved_at!: string | null;
  @ApiProperty({ type: IssueRepairDto, nullable: true })
  repair!: IssueRepairDto | null;
}

/** Where a sweep's time went, in ms: reading the records, probing reality, judging, booking issues, repairs. */
export interface SweepPhases {
  records?: number;
  probes?: number;
  judge?: number;
  book?: number;
  repairs?: number;
}

/** How many VMs and disks a sweep looked at. */
export class SweepCountsDto {
  @ApiProperty()
  vms!: number;
  @ApiProperty()
  disks!: number;
}

/** One past sweep: when it finished and how long it took. */
export class RecentSweep {
  @ApiProperty()
  finished_at!: string;
  @ApiProperty()
  duration_ms!: number;
}

export class CoherenceStatusDto {
  @ApiProperty({ nullable: true, type: String })
  last_sweep_at!: string | null;
  @ApiProperty({ nullable: true, type: Number })
  last_duration_ms!: number | null;
  /** CPU time (user + system) of the last sweep's own work. */
  @ApiProperty({ nullable: true, type: Number })
  last_cpu_ms!: number | null;
  @ApiProperty()
  interval_ms!: number;
  /** The last sweep finished within one interval, and it was less than two intervals ago. */
  @ApiProperty()
  keeping_up!: boolean;
  /** Subjects skipped by the last sweep because an operation was in flight. */
  @ApiProperty()
  skipped!: number;
  /** VMs and disks the last sweep looked at. */
  @ApiProperty({ type: () => SweepCountsDto })
  checked!: { vms: number; disks: number };
  /** Why the last sweep could not look at something (a service did not answer), if so. */
  @ApiProperty({ type: [String] })
  errors!: string[];
  @ApiProperty({ description: 'Open issues by kind.' })
  open_by_kind!: Partial<Record<IssueKind, number>>;
  @ApiProperty({
    description:
      'Where the last sweep’s time went, in ms: `records` (the VM and disk lists), `probes` (pid files, QMP, images, process table), `judge`, `book` (issues and their events), `repairs`.',
    example: { records: 310, probes: 420, judge: 12, book: 95, repairs: 0 },
  })
  phases_ms!: SweepPhases;
  /** The last 60 sweeps, oldest first: how long each took against `interval_ms`. */
  @ApiProperty({ type: [RecentSweep] })
  recent_sweeps!: RecentSweep[];
}

/** Reply of `observer.issue.list`: a page of issues. */
export class CoherenceIssueListDto {
  @ApiProperty({ type: [CoherenceIssueDto] })
  items!: CoherenceIssueDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}
