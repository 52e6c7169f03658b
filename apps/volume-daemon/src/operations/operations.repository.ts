import { Injectable } from '@nestjs/common';
import type {
  DeviceCorrelationDto,
  OperationErrorDto,
  OperationProgressDto,
  OperationStatus,
  OperationStepDto,
  OperationType,
  VolumeOperationDto,
} from '@ferry/contracts';
import { isUuid } from '@ferry/contracts';
import { DataSource } from 'typeorm';
import type { EntityManager } from 'typeorm';

export interface OperationRecord {
  id: string;
  type: OperationType;
  status: OperationStatus;
  diskId: string;
  vmId: string | null;
  params: Record<string, unknown>;
  steps: OperationStepDto[];
  correlation: DeviceCorrelationDto | null;
  progress: OperationProgressDto | null;
  error: OperationErrorDto | null;
  result: Record<string, unknown> | null;
  cancelRequested: boolean;
  correlationId: string | null;
  claimedBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface OperationRow {
  id: string;
  type: OperationType;
  status: OperationStatus;
  disk_id: string;
  vm_id: string | null;
  params: Record<string, unknown>;
  steps: OperationStepDto[];
  correlation: DeviceCorrelationDto | null;
  progress: OperationProgressDto | null;
  error: OperationErrorDto | null;
  result: Record<string, unknown> | null;
  cancel_requested: boolean;
  correlation_id: string | null;
  claimed_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function fromRow(r: OperationRow): OperationRecord {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    diskId: r.disk_id,
    vmId: r.vm_id,
    params: r.params,
    steps: r.steps,
    correlation: r.correlation,
    progress: r.progress,
    error: r.error,
    result: r.result,
    cancelRequested: r.cancel_requested,
    correlationId: r.correlation_id,
    claimedBy: r.claimed_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

export function toOperationDto(op: OperationRecord): VolumeOperationDto {
  return {
    id: op.id,
    type: op.type,
    status: op.status,
    disk_id: op.diskId,
    vm_id: op.vmId,
    params: op.params,
    steps: op.steps,
    correlation: op.correlation,
    progress: op.progress,
    error: op.error,
    result: op.result,
    cancel_requested: op.cancelRequested,
    correlation_id: op.correlationId,
    created_at: op.createdAt.toISOString(),
    started_at: op.startedAt?.toISOString() ?? null,
    finished_at: op.finishedAt?.toISOString() ?? null,
  };
}

const UNFINISHED = `status IN ('pending', 'executing')`;

/** The only code that touches `volume.operations`. */
@Injectable()
export class OperationsRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    em: EntityManager,
    op: Pick<
      OperationRecord,
      'id' | 'type' | 'diskId' | 'vmId' | 'params' | 'correlationId' | 'claimedBy'
    > & {
      status: 'pending' | 'executing';
    },
  ): Promise<OperationRecord> {
    const rows: OperationRow[] = await em.query(
      `INSERT INTO volume.operations (id, type, status, disk_id, vm_id, params, correlation_id, claimed_by, started_at)
       VALUES ($1, $2, $3::text, $4, $5, $6, $7, $8, CASE WHEN $3::text = 'executing' THEN now() END) RETURNING *`,
      [op.id, op.type, op.status, op.diskId, op.vmId, op.params, op.correlationId, op.claimedBy],
    );
    return fromRow(rows[0]!);
  }

  /** An id that is not a UUID names no operation. */
  async findById(id: string, em?: EntityManager): Promise<OperationRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: OperationRow[] = await (em ?? this.ds).query(
      'SELECT * FROM volume.operations WHERE id = $1',
      [id],
    );
    return rows[0] && fromRow(rows[0]);
  }

  /** Unfinished operations, oldest first, with the replica that runs each. */
  async unfinished(): Promise<OperationRecord[]> {
    const rows: OperationRow[] = await this.ds.query(
      `SELECT * FROM volume.operations WHERE ${UNFINISHED} ORDER BY created_at, id`,
    );
    return rows.map(fromRow);
  }

  /** Takes over an operation from `from` (a replica that is gone); false when another replica was faster. */
  async claim(id: string, from: string | null, to: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE volume.operations SET claimed_by = $3, updated_at = now()
        WHERE id = $1 AND claimed_by IS NOT DISTINCT FROM $2::uuid AND ${UNFINISHED}`,
      [id, from, to],
    )) as [unknown, number];
    return affected > 0;
  }

  async markExecuting(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE volume.operations SET status = 'executing', started_at = coalesce(started_at, now()), updated_at = now()
        WHERE id = $1 AND ${UNFINISHED}`,
      [id],
    );
  }

  /** Persists one step as soon as it is done (or failed), so a resumed operation shows where it was. */
  async addStep(id: string, step: OperationStepDto, em?: EntityManager): Promise<void> {
    await (em ?? this.ds).query(
      `UPDATE volume.operations SET steps = steps || $2::jsonb, updated_at = now() WHERE id = $1`,
      [id, JSON.stringify([step])],
    );
  }

  async setCorrelation(em: EntityManager, id: string, correlation: DeviceCorrelationDto): Promise<void> {
    await em.query(`UPDATE volume.operations SET correlation = $2, updated_at = now() WHERE id = $1`, [
      id,
      correlation,
    ]);
  }

  /** The latest progress of a byte-moving operation (throttled by the caller). */
  async setProgress(id: string, progress: OperationProgressDto, em?: EntityManager): Promise<void> {
    await (em ?? this.ds).query(
      `UPDATE volume.operations SET progress = $2, updated_at = now() WHERE id = $1 AND ${UNFINISHED}`,
      [id, progress],
    );
  }

  /** What the operation produced (a fix's outcomes), recorded as soon as it is known. */
  async setResult(id: string, result: Record<string, unknown>, em?: EntityManager): Promise<void> {
    await (em ?? this.ds).query(
      `UPDATE volume.operations SET result = $2, updated_at = now() WHERE id = $1`,
      [id, JSON.stringify(result)],
    );
  }

  /** Asks an unfinished operation to stop; returns it as it now is (undefined: no such operation). */
  async requestCancel(id: string): Promise<OperationRecord | undefined> {
    if (!isUuid(id)) return undefined;
    await this.ds.query(
      `UPDATE volume.operations SET cancel_requested = true, updated_at = now() WHERE id = $1 AND ${UNFINISHED}`,
      [id],
    );
    return this.findById(id);
  }

  /** Of these operations, the ones whose cancel was asked for. */
  async cancelRequested(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = (await this.ds.query(
      `SELECT id FROM volume.operations WHERE id = ANY($1::uuid[]) AND cancel_requested AND ${UNFINISHED}`,
      [ids],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async finish(
    em: EntityManager,
    id: string,
    status: 'completed' | 'failed' | 'cancelled',
    error: OperationErrorDto | null,
  ): Promise<OperationRecord | undefined> {
    const rows: OperationRow[] = await em.query(
      `UPDATE volume.operations SET status = $2, error = $3, finished_at = now(), updated_at = now()
        WHERE id = $1 AND ${UNFINISHED} RETURNING *`,
      [id, status, error],
    );
    const [updated] = rows as unknown as [OperationRow[], number];
    return updated[0] && fromRow(updated[0]);
  }
}
