import { Injectable } from '@nestjs/common';
import type {
  FailoverErrorDto,
  FailoverJobDto,
  FailoverJobStatus,
  FailoverPhase,
  FailoverStepDto,
  FailoverVolumeDto,
} from '@ferry/contracts';
import { FAILOVER_ACTIVE_STATUSES, isUuid } from '@ferry/contracts';
import { keysetSql, keysetTime } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';

/** A job as stored: the API's view plus what only the service needs. */
export interface JobRecord {
  id: string;
  vmName: string;
  status: FailoverJobStatus;
  phase: FailoverPhase;
  template: string;
  applianceVmId: string;
  applianceVmName: string;
  testVmId: string | null;
  testVmName: string;
  volumes: FailoverVolumeDto[];
  /** The test VM's NICs (empty: vm-operator's default). */
  nics: { mac: string }[];
  deleteVm: boolean;
  steps: FailoverStepDto[];
  error: FailoverErrorDto | null;
  /** Why the failover phase failed; its cleanup then ends the job `failed` instead of `cleanup_completed`. */
  failoverError: FailoverErrorDto | null;
  requestedBy: string | null;
  cleanupRequestedBy: string | null;
  correlationId: string | null;
  /** The replica running the job (see ReplicaLiveness). */
  claimedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** The columns a change may set. */
export type JobChange = Partial<
  Pick<
    JobRecord,
    | 'status'
    | 'phase'
    | 'testVmId'
    | 'deleteVm'
    | 'steps'
    | 'error'
    | 'failoverError'
    | 'cleanupRequestedBy'
    | 'claimedBy'
    | 'finishedAt'
  >
>;

const COLUMNS: Record<keyof JobChange, { column: string; json?: boolean }> = {
  status: { column: 'status' },
  phase: { column: 'phase' },
  testVmId: { column: 'test_vm_id' },
  deleteVm: { column: 'delete_vm' },
  steps: { column: 'steps', json: true },
  error: { column: 'error', json: true },
  failoverError: { column: 'failover_error', json: true },
  cleanupRequestedBy: { column: 'cleanup_requested_by' },
  claimedBy: { column: 'claimed_by' },
  finishedAt: { column: 'finished_at' },
};

interface JobRow {
  id: string;
  vm_name: string;
  status: FailoverJobStatus;
  phase: FailoverPhase;
  template: string;
  appliance_vm_id: string;
  appliance_vm_name: string;
  test_vm_id: string | null;
  test_vm_name: string;
  volumes: FailoverVolumeDto[];
  nics: { mac: string }[];
  delete_vm: boolean;
  steps: FailoverStepDto[];
  error: FailoverErrorDto | null;
  failover_error: FailoverErrorDto | null;
  requested_by: string | null;
  cleanup_requested_by: string | null;
  correlation_id: string | null;
  claimed_by: string | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

function fromRow(r: JobRow): JobRecord {
  return {
    id: r.id,
    vmName: r.vm_name,
    status: r.status,
    phase: r.phase,
    template: r.template,
    applianceVmId: r.appliance_vm_id,
    applianceVmName: r.appliance_vm_name,
    testVmId: r.test_vm_id,
    testVmName: r.test_vm_name,
    volumes: r.volumes,
    nics: r.nics,
    deleteVm: r.delete_vm,
    steps: r.steps,
    error: r.error,
    failoverError: r.failover_error,
    requestedBy: r.requested_by,
    cleanupRequestedBy: r.cleanup_requested_by,
    correlationId: r.correlation_id,
    claimedBy: r.claimed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

export function toJobDto(j: JobRecord): FailoverJobDto {
  return {
    id: j.id,
    vm_name: j.vmName,
    type: 'test',
    status: j.status,
    phase: j.phase,
    template: j.template,
    appliance_vm_id: j.applianceVmId,
    appliance_vm_name: j.applianceVmName,
    test_vm_id: j.testVmId,
    test_vm_name: j.testVmName,
    volumes: j.volumes,
    delete_vm: j.deleteVm,
    steps: j.steps,
    error: j.error,
    requested_by: j.requestedBy,
    cleanup_requested_by: j.cleanupRequestedBy,
    correlation_id: j.correlationId,
    created_at: j.createdAt.toISOString(),
    updated_at: j.updatedAt.toISOString(),
    finished_at: j.finishedAt?.toISOString() ?? null,
  };
}

/** Postgres unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}

@Injectable()
export class JobsRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    em: EntityManager,
    j: Omit<JobRecord, 'createdAt' | 'updatedAt' | 'finishedAt'>,
  ): Promise<JobRecord> {
    const rows = (await em.query(
      `INSERT INTO cleanup.jobs (id, vm_name, status, phase, template, appliance_vm_id, appliance_vm_name,
         test_vm_id, test_vm_name, volumes, delete_vm, steps, error, failover_error, requested_by,
         cleanup_requested_by, correlation_id, claimed_by, nics)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19) RETURNING *`,
      [
        j.id,
        j.vmName,
        j.status,
        j.phase,
        j.template,
        j.applianceVmId,
        j.applianceVmName,
        j.testVmId,
        j.testVmName,
        JSON.stringify(j.volumes),
        j.deleteVm,
        JSON.stringify(j.steps),
        j.error ? JSON.stringify(j.error) : null,
        j.failoverError ? JSON.stringify(j.failoverError) : null,
        j.requestedBy,
        j.cleanupRequestedBy,
        j.correlationId,
        j.claimedBy,
        JSON.stringify(j.nics),
      ],
    )) as JobRow[];
    return fromRow(rows[0]!);
  }

  /** An id that is not a UUID names no job. */
  async findById(id: string, em: EntityManager = this.ds.manager): Promise<JobRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = (await em.query('SELECT * FROM cleanup.jobs WHERE id = $1', [id])) as JobRow[];
    return rows[0] && fromRow(rows[0]);
  }

  async lock(em: EntityManager, id: string): Promise<JobRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = (await em.query('SELECT * FROM cleanup.jobs WHERE id = $1 FOR UPDATE', [id])) as JobRow[];
    return rows[0] && fromRow(rows[0]);
  }

  /** The VM's most recent job. */
  async latestForVm(vmName: string): Promise<JobRecord | undefined> {
    const rows = (await this.ds.query(
      'SELECT * FROM cleanup.jobs WHERE vm_name = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
      [vmName],
    )) as JobRow[];
    return rows[0] && fromRow(rows[0]);
  }

  /** The job holding the VM (see FAILOVER_ACTIVE_STATUSES), if any. */
  async activeForVm(vmName: string): Promise<JobRecord | undefined> {
    const rows = (await this.ds.query(
      'SELECT * FROM cleanup.jobs WHERE vm_name = $1 AND status = ANY($2::text[])',
      [vmName, FAILOVER_ACTIVE_STATUSES],
    )) as JobRow[];
    return rows[0] && fromRow(rows[0]);
  }

  /** Up to `take` jobs newest first (created_at, id), after `after` (a cursor's [created_at, id]). */
  async page(
    filter: { vmName?: string; status?: FailoverJobStatus },
    take: number,
    after: string[] | undefined,
  ): Promise<Array<JobRecord & { pageAt: string }>> {
    const keyset = keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 3, 'desc');
    const rows = (await this.ds.query(
      `SELECT *, ${keysetTime('created_at')} AS page_at FROM cleanup.jobs
       WHERE ($1::text IS NULL OR vm_name = $1) AND ($2::text IS NULL OR status = $2) AND ${keyset.after}
       ORDER BY ${keyset.orderBy} LIMIT $5`,
      [filter.vmName ?? null, filter.status ?? null, after?.[0] ?? null, after?.[1] ?? null, take],
    )) as Array<JobRow & { page_at: string }>;
    return rows.map((r) => ({ ...fromRow(r), pageAt: r.page_at }));
  }

  /** Jobs a runner must be working on: the ones a dead replica left are resumed. */
  async unfinished(): Promise<JobRecord[]> {
    const rows = (await this.ds.query(
      `SELECT * FROM cleanup.jobs WHERE status IN ('pending','running','cleanup_running') ORDER BY created_at`,
    )) as JobRow[];
    return rows.map(fromRow);
  }

  /** Takes a job over from `from` (its dead runner, or null); false when someone else got there first. */
  async claim(id: string, from: string | null, to: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE cleanup.jobs SET claimed_by = $3 WHERE id = $1 AND claimed_by IS NOT DISTINCT FROM $2
         AND status IN ('pending','running','cleanup_running')`,
      [id, from, to],
    )) as [unknown, number];
    return affected === 1;
  }

  async update(em: EntityManager, id: string, change: JobChange): Promise<JobRecord> {
    const sets: string[] = ['updated_at = now()'];
    const values: unknown[] = [id];
    for (const [key, value] of Object.entries(change) as [keyof JobChange, unknown][]) {
      if (value === undefined) continue;
      const { column, json } = COLUMNS[key];
      values.push(json && value !== null ? JSON.stringify(value) : value);
      sets.push(`${column} = $${values.length}`);
    }
    const [rows] = (await em.query(
      `UPDATE cleanup.jobs SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
      values,
    )) as [JobRow[], number];
    return fromRow(rows[0]!);
  }
}
