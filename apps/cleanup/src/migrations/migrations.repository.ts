import { Injectable } from '@nestjs/common';
import type {
  BootCheckDto,
  CutoverMode,
  DiskFormat,
  MigrationErrorDto,
  MigrationMode,
  MigrationPlanDto,
  MigrationStageDto,
  MigrationStatus,
  MigrationVolumeDto,
  VsphereFactsDto,
} from '@ferry/contracts';
import { MIGRATION_ACTIVE_STATUSES, isUuid } from '@ferry/contracts';
import { keysetSql, keysetTime } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';

/** What was asked of the target. */
export interface MigrationTarget {
  template: string | null;
  host: string | null;
  name: string;
  format: DiskFormat;
  keepStaticIp: boolean;
}

/** What was asked of VALIDATE; null fields take their defaults when it runs. */
export interface MigrationValidate {
  bootTimeoutS: number;
  expectIp: boolean | null;
  bootSuccess: string;
  bootFailure: string;
}

/** What FIX did, as volume-daemon's fix operation recorded it. */
export interface FixResult {
  operationId: string;
  virtV2v: { ran: boolean; durationMs: number | null; detail: string | null };
  edits: {
    fix: string;
    kind: string;
    path: string;
    outcome: 'applied' | 'skipped' | 'failed';
    detail: string;
  }[];
  applianceBoots: number;
}

export type CutoverResult = BootCheckDto & {
  source_powered_off_at: string | null;
  downtime_ms: number | null;
};

/** A migration as stored: the API's view plus what only the service needs. */
export interface MigrationRecord {
  id: string;
  status: MigrationStatus;
  mode: MigrationMode;
  cutover: CutoverMode;
  vcenterUrl: string;
  vmId: string;
  moref: string;
  vmName: string;
  sourceKey: string;
  credentials: Buffer | null;
  credentialsKeyId: string | null;
  target: MigrationTarget;
  fixes: string[] | null;
  validate: MigrationValidate;
  stages: MigrationStageDto[];
  volumes: MigrationVolumeDto[];
  facts: VsphereFactsDto | null;
  exportId: string | null;
  inspectionId: string | null;
  plan: MigrationPlanDto | null;
  fixOperationId: string | null;
  fixResult: FixResult | null;
  templateName: string | null;
  failoverJobId: string | null;
  validation: BootCheckDto | null;
  productionVmId: string | null;
  cutoverResult: CutoverResult | null;
  cutoverRequestedAt: Date | null;
  sourcePowerBefore: string | null;
  sourcePoweredOffAt: Date | null;
  error: MigrationErrorDto | null;
  keep: boolean;
  cancelRequested: boolean;
  requestedBy: string | null;
  correlationId: string | null;
  claimedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** The columns a change may set. */
export type MigrationChange = Partial<
  Omit<
    MigrationRecord,
    'id' | 'mode' | 'cutover' | 'vcenterUrl' | 'vmId' | 'sourceKey' | 'createdAt' | 'updatedAt'
  >
>;

/** Record field → column; JSON columns are (de)serialised. */
const COLUMNS: Record<keyof MigrationRecord, { column: string; json?: boolean }> = {
  id: { column: 'id' },
  status: { column: 'status' },
  mode: { column: 'mode' },
  cutover: { column: 'cutover' },
  vcenterUrl: { column: 'vcenter_url' },
  vmId: { column: 'vm_id' },
  moref: { column: 'moref' },
  vmName: { column: 'vm_name' },
  sourceKey: { column: 'source_key' },
  credentials: { column: 'credentials' },
  credentialsKeyId: { column: 'credentials_key_id' },
  target: { column: 'target', json: true },
  fixes: { column: 'fixes', json: true },
  validate: { column: 'validate', json: true },
  stages: { column: 'stages', json: true },
  volumes: { column: 'volumes', json: true },
  facts: { column: 'facts', json: true },
  exportId: { column: 'export_id' },
  inspectionId: { column: 'inspection_id' },
  plan: { column: 'plan', json: true },
  fixOperationId: { column: 'fix_operation_id' },
  fixResult: { column: 'fix_result', json: true },
  templateName: { column: 'template_name' },
  failoverJobId: { column: 'failover_job_id' },
  validation: { column: 'validation', json: true },
  productionVmId: { column: 'production_vm_id' },
  cutoverResult: { column: 'cutover_result', json: true },
  cutoverRequestedAt: { column: 'cutover_requested_at' },
  sourcePowerBefore: { column: 'source_power_before' },
  sourcePoweredOffAt: { column: 'source_powered_off_at' },
  error: { column: 'error', json: true },
  keep: { column: 'keep' },
  cancelRequested: { column: 'cancel_requested' },
  requestedBy: { column: 'requested_by' },
  correlationId: { column: 'correlation_id' },
  claimedBy: { column: 'claimed_by' },
  createdAt: { column: 'created_at' },
  updatedAt: { column: 'updated_at' },
  finishedAt: { column: 'finished_at' },
};
const FIELDS = Object.keys(COLUMNS) as (keyof MigrationRecord)[];

function fromRow(row: Record<string, unknown>): MigrationRecord {
  const record = {} as Record<string, unknown>;
  for (const field of FIELDS) record[field] = row[COLUMNS[field].column] ?? null;
  return record as unknown as MigrationRecord;
}

function value(field: keyof MigrationRecord, v: unknown): unknown {
  return COLUMNS[field].json && v !== null && v !== undefined ? JSON.stringify(v) : v;
}

/** Postgres unique_violation (the per-VM index). */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

/** The statuses a runner works on; a dead replica's are resumed. */
export const RUNNING_STATUSES: readonly MigrationStatus[] = ['pending', 'running', 'canceling'];

/** The only code that touches `cleanup.vm_migrations`. */
@Injectable()
export class MigrationsRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    em: EntityManager,
    m: Omit<MigrationRecord, 'createdAt' | 'updatedAt' | 'finishedAt'>,
  ): Promise<MigrationRecord> {
    const fields = FIELDS.filter((f) => f !== 'createdAt' && f !== 'updatedAt' && f !== 'finishedAt');
    const rows = (await em.query(
      `INSERT INTO cleanup.vm_migrations (${fields.map((f) => COLUMNS[f].column).join(', ')})
       VALUES (${fields.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
      fields.map((f) => value(f, m[f as keyof typeof m])),
    )) as Record<string, unknown>[];
    return fromRow(rows[0]!);
  }

  /** An id that is not a UUID names no migration. */
  async findById(id: string, em: EntityManager = this.ds.manager): Promise<MigrationRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = (await em.query('SELECT * FROM cleanup.vm_migrations WHERE id = $1', [id])) as Record<
      string,
      unknown
    >[];
    return rows[0] && fromRow(rows[0]);
  }

  async lock(em: EntityManager, id: string): Promise<MigrationRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = (await em.query('SELECT * FROM cleanup.vm_migrations WHERE id = $1 FOR UPDATE', [
      id,
    ])) as Record<string, unknown>[];
    return rows[0] && fromRow(rows[0]);
  }

  /** The migration holding the source VM (MIGRATION_ACTIVE_STATUSES), if any. */
  async activeFor(sourceKey: string): Promise<MigrationRecord | undefined> {
    const rows = (await this.ds.query(
      'SELECT * FROM cleanup.vm_migrations WHERE source_key = $1 AND status = ANY($2::text[])',
      [sourceKey, MIGRATION_ACTIVE_STATUSES],
    )) as Record<string, unknown>[];
    return rows[0] && fromRow(rows[0]);
  }

  /** Up to `take` migrations newest first (created_at, id), after `after` (a cursor's [created_at, id]). */
  async page(
    status: MigrationStatus | undefined,
    take: number,
    after: string[] | undefined,
  ): Promise<Array<MigrationRecord & { pageAt: string }>> {
    const keyset = keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 2, 'desc');
    const rows = (await this.ds.query(
      `SELECT *, ${keysetTime('created_at')} AS page_at FROM cleanup.vm_migrations
        WHERE ($1::text IS NULL OR status = $1) AND ${keyset.after}
        ORDER BY ${keyset.orderBy} LIMIT $4`,
      [status ?? null, after?.[0] ?? null, after?.[1] ?? null, take],
    )) as Record<string, unknown>[];
    return rows.map((r) => ({ ...fromRow(r), pageAt: r['page_at'] as string }));
  }

  async unfinished(): Promise<MigrationRecord[]> {
    const rows = (await this.ds.query(
      'SELECT * FROM cleanup.vm_migrations WHERE status = ANY($1::text[]) ORDER BY created_at',
      [RUNNING_STATUSES],
    )) as Record<string, unknown>[];
    return rows.map(fromRow);
  }

  /** Takes a migration over from `from` (its dead runner, or null); false when someone else was first. */
  async claim(id: string, from: string | null, to: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE cleanup.vm_migrations SET claimed_by = $3 WHERE id = $1 AND claimed_by IS NOT DISTINCT FROM $2
         AND status = ANY($4::text[])`,
      [id, from, to, RUNNING_STATUSES],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Whether a cancel was asked for (read without a lock, between and during stages). */
  async cancelRequested(id: string): Promise<boolean> {
    const rows = (await this.ds.query('SELECT cancel_requested FROM cleanup.vm_migrations WHERE id = $1', [
      id,
    ])) as {
      cancel_requested: boolean;
    }[];
    return rows[0]?.cancel_requested ?? false;
  }

  async update(em: EntityManager, id: string, change: MigrationChange): Promise<MigrationRecord> {
    const sets: string[] = ['updated_at = now()'];
    const values: unknown[] = [id];
    for (const [field, v] of Object.entries(change) as [keyof MigrationRecord, unknown][]) {
      if (v === undefined) continue;
      values.push(value(field, v));
      sets.push(`${COLUMNS[field].column} = $${values.length}`);
    }
    const [rows] = (await em.query(
      `UPDATE cleanup.vm_migrations SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
      values,
    )) as [Record<string, unknown>[], number];
    return fromRow(rows[0]!);
  }
}
