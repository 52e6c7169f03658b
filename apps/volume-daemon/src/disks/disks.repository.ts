import { Injectable } from '@nestjs/common';
import type { DiskFormat, DiskState } from '@ferry/contracts';
import { FerryError, isUuid } from '@ferry/contracts';
import { keysetSql, keysetTime } from '@ferry/platform';
import { DataSource, QueryFailedError } from 'typeorm';
import type { EntityManager } from 'typeorm';

export interface DiskRecord {
  id: string;
  name: string;
  sizeBytes: number;
  format: DiskFormat;
  state: DiskState;
  backend: string;
  ref: string;
  path: string | null;
  vmId: string | null;
  mountPoint: string | null;
  generation: number;
  operationId: string | null;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface DiskRow {
  id: string;
  name: string;
  size_bytes: string;
  format: DiskFormat;
  state: DiskState;
  backend: string;
  ref: string;
  path: string | null;
  vm_id: string | null;
  mount_point: string | null;
  generation: string;
  operation_id: string | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
}

function fromRow(r: DiskRow): DiskRecord {
  return {
    id: r.id,
    name: r.name,
    sizeBytes: Number(r.size_bytes),
    format: r.format,
    state: r.state,
    backend: r.backend,
    ref: r.ref,
    path: r.path,
    vmId: r.vm_id,
    mountPoint: r.mount_point,
    generation: Number(r.generation),
    operationId: r.operation_id,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** What a state change may set besides the state; `undefined` leaves a column as it is. */
export interface DiskChange {
  state: DiskState;
  vmId?: string | null;
  mountPoint?: string | null;
  operationId?: string | null;
  lastError?: string | null;
}

/** The only code that touches `volume.disks`. Every change bumps `generation`. */
@Injectable()
export class DisksRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(
    em: EntityManager,
    disk: Pick<
      DiskRecord,
      'id' | 'name' | 'sizeBytes' | 'format' | 'backend' | 'ref' | 'path' | 'operationId'
    > & { state?: 'creating' | 'importing' },
  ): Promise<DiskRecord> {
    try {
      const rows: DiskRow[] = await em.query(
        `INSERT INTO volume.disks (id, name, size_bytes, format, state, backend, ref, path, operation_id)
         VALUES ($1, $2, $3, $4, $9, $5, $6, $7, $8) RETURNING *`,
        [
          disk.id,
          disk.name,
          disk.sizeBytes,
          disk.format,
          disk.backend,
          disk.ref,
          disk.path,
          disk.operationId,
          disk.state ?? 'creating',
        ],
      );
      return fromRow(rows[0]!);
    } catch (err) {
      const code = err instanceof QueryFailedError ? (err.driverError as { code?: string }).code : undefined;
      if (code === '23505')
        throw FerryError.conflict(`a disk named "${disk.name}" already exists`, { name: disk.name });
      throw err;
    }
  }

  /** An id that is not a UUID names no disk (and is not queried: the column is a uuid). */
  async findById(id: string, em?: EntityManager): Promise<DiskRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: DiskRow[] = await (em ?? this.ds).query('SELECT * FROM volume.disks WHERE id = $1', [id]);
    return rows[0] && fromRow(rows[0]);
  }

  /** Locks the row until the transaction ends: the one way to start an operation on a disk. */
  async lock(em: EntityManager, id: string): Promise<DiskRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: DiskRow[] = await em.query('SELECT * FROM volume.disks WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] && fromRow(rows[0]);
  }

  async list(filter: { vmId?: string; state?: DiskState }): Promise<DiskRecord[]> {
    // No disk is attached to a VM id that is not a UUID.
    if (filter.vmId !== undefined && !isUuid(filter.vmId)) return [];
    const rows: DiskRow[] = await this.ds.query(
      `SELECT * FROM volume.disks
        WHERE ($1::uuid IS NULL OR vm_id = $1) AND ($2::text IS NULL OR state = $2)
        ORDER BY created_at, id`,
      [filter.vmId ?? null, filter.state ?? null],
    );
    return rows.map(fromRow);
  }

  /**
   * One keyset page in (created_at, id) order: up to `take` rows after `after` (a cursor's
   * [created_at, id]), each with `page_at`, its created_at with microseconds, for the next cursor.
   */
  async page(
    filter: { vmId?: string; state?: DiskState },
    take: number,
    after: string[] | undefined,
  ): Promise<Array<DiskRecord & { pageAt: string }>> {
    if (filter.vmId !== undefined && !isUuid(filter.vmId)) return [];
    const keyset = keysetSql(['created_at', 'id'], ['timestamptz', 'uuid'], 3);
    const rows: Array<DiskRow & { page_at: string }> = await this.ds.query(
      `SELECT *, ${keysetTime('created_at')} AS page_at FROM volume.disks
        WHERE ($1::uuid IS NULL OR vm_id = $1) AND ($2::text IS NULL OR state = $2) AND ${keyset.after}
        ORDER BY ${keyset.orderBy} LIMIT $5`,
      [filter.vmId ?? null, filter.state ?? null, after?.[0] ?? null, after?.[1] ?? null, take],
    );
    return rows.map((r) => ({ ...fromRow(r), pageAt: r.page_at }));
  }

  /**
   * Changes a disk that `operationId` holds (or, with null, that no operation holds); returns null
   * when it does not hold it any more: a straggler cannot overwrite a newer change.
   */
  async change(
    em: EntityManager,
    id: string,
    heldBy: string | null,
    change: DiskChange,
  ): Promise<DiskRecord | null> {
    const rows: DiskRow[] = await em.query(
      `UPDATE volume.disks SET
          state = $3,
          vm_id = CASE WHEN $4 THEN $5::uuid ELSE vm_id END,
          mount_point = CASE WHEN $6 THEN $7 ELSE mount_point END,
          operation_id = CASE WHEN $8 THEN $9::uuid ELSE operation_id END,
          last_error = CASE WHEN $10 THEN $11 ELSE last_error END,
          generation = generation + 1,
          updated_at = now()
        WHERE id = $1 AND operation_id IS NOT DISTINCT FROM $2::uuid
        RETURNING *`,
      [
        id,
        heldBy,
        change.state,
        change.vmId !== undefined,
        change.vmId ?? null,
        change.mountPoint !== undefined,
        change.mountPoint ?? null,
        change.operationId !== undefined,
        change.operationId ?? null,
        change.lastError !== undefined,
        change.lastError ?? null,
      ],
    );
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [updated] = rows as unknown as [DiskRow[], number];
    return updated[0] ? fromRow(updated[0]) : null;
  }

  /** Where the backend put a new disk. */
  async setProvisioned(em: EntityManager, id: string, ref: string, path: string | null): Promise<void> {
    await em.query('UPDATE volume.disks SET ref = $2, path = $3, updated_at = now() WHERE id = $1', [
      id,
      ref,
      path,
    ]);
  }

  /** A converted image replaces the disk's (same disk, new file and format), while `heldBy` holds it. */
  async setImage(
    em: EntityManager,
    id: string,
    heldBy: string,
    image: { ref: string; path: string | null; format: DiskFormat },
  ): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE volume.disks SET ref = $3, path = $4, format = $5, generation = generation + 1, updated_at = now()
        WHERE id = $1 AND operation_id = $2`,
      [id, heldBy, image.ref, image.path, image.format],
    )) as [unknown, number];
    return affected > 0;
  }

  async delete(em: EntityManager, id: string, heldBy: string): Promise<boolean> {
    const [, affected] = (await em.query('DELETE FROM volume.disks WHERE id = $1 AND operation_id = $2', [
      id,
      heldBy,
    ])) as [unknown, number];
    return affected > 0;
  }
}
