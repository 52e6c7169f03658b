import { Injectable } from '@nestjs/common';
import type { GuestInspectionJobDto, GuestInspectionResultDto, GuestInspectionState } from '@ferry/contracts';
import { isUuid } from '@ferry/contracts';
import { DataSource } from 'typeorm';

export interface GuestJobRecord {
  id: string;
  state: GuestInspectionState;
  diskIds: string[];
  fixInputs: boolean;
  result: GuestInspectionResultDto | null;
  error: string | null;
  attempts: number;
  claimedBy: string | null;
  correlationId: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

interface Row {
  id: string;
  state: GuestInspectionState;
  disk_ids: string[];
  fix_inputs: boolean;
  result: GuestInspectionResultDto | null;
  error: string | null;
  attempts: number;
  claimed_by: string | null;
  correlation_id: string | null;
  created_at: Date;
  finished_at: Date | null;
}

function fromRow(r: Row): GuestJobRecord {
  return {
    id: r.id,
    state: r.state,
    diskIds: r.disk_ids,
    fixInputs: r.fix_inputs,
    result: r.result,
    error: r.error,
    attempts: r.attempts,
    claimedBy: r.claimed_by,
    correlationId: r.correlation_id,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export function toGuestJobDto(j: GuestJobRecord): GuestInspectionJobDto {
  return {
    id: j.id,
    state: j.state,
    diskIds: j.diskIds,
    result: j.result,
    error: j.error,
    attempts: j.attempts,
    createdAt: j.createdAt.toISOString(),
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}

/** The only code that touches `inspector.guest_inspections`. */
@Injectable()
export class GuestJobsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Records the job, or returns the one already recorded under this id (the caller asked again). */
  async insertOrGet(
    job: Pick<GuestJobRecord, 'id' | 'diskIds' | 'fixInputs' | 'claimedBy' | 'correlationId'>,
  ): Promise<{ job: GuestJobRecord; created: boolean }> {
    const rows = (await this.ds.query(
      `INSERT INTO inspector.guest_inspections (id, state, disk_ids, fix_inputs, claimed_by, correlation_id)
       VALUES ($1, 'pending', $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [job.id, JSON.stringify(job.diskIds), job.fixInputs, job.claimedBy, job.correlationId],
    )) as Row[];
    if (rows[0]) return { job: fromRow(rows[0]), created: true };
    return { job: (await this.find(job.id))!, created: false };
  }

  async find(id: string): Promise<GuestJobRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows = (await this.ds.query('SELECT * FROM inspector.guest_inspections WHERE id = $1', [
      id,
    ])) as Row[];
    return rows[0] && fromRow(rows[0]);
  }

  async unfinished(): Promise<GuestJobRecord[]> {
    const rows = (await this.ds.query(
      `SELECT * FROM inspector.guest_inspections WHERE state IN ('pending', 'running') ORDER BY created_at`,
    )) as Row[];
    return rows.map(fromRow);
  }

  /** Compare-and-set of the claim: false when another replica took it first. */
  async claim(id: string, from: string | null, to: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE inspector.guest_inspections SET claimed_by = $3
        WHERE id = $1 AND claimed_by IS NOT DISTINCT FROM $2 AND state IN ('pending', 'running')`,
      [id, from, to],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Marks it running (another attempt) while `owner` holds it; false when it does not any more. */
  async start(id: string, owner: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE inspector.guest_inspections
          SET state = 'running', attempts = attempts + 1, started_at = now(), error = NULL
        WHERE id = $1 AND claimed_by = $2 AND state IN ('pending', 'running')`,
      [id, owner],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Records the outcome while `owner` holds it. */
  async finish(
    id: string,
    owner: string,
    outcome: { state: 'done'; result: GuestInspectionResultDto } | { state: 'failed'; error: string },
  ): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE inspector.guest_inspections
          SET state = $3, result = $4, error = $5, claimed_by = NULL, finished_at = now()
        WHERE id = $1 AND claimed_by = $2 AND state = 'running'`,
      [
        id,
        owner,
        outcome.state,
        outcome.state === 'done' ? JSON.stringify(outcome.result) : null,
        outcome.state === 'failed' ? outcome.error : null,
      ],
    )) as [unknown, number];
    return affected === 1;
  }
}
