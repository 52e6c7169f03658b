import { Injectable } from '@nestjs/common';
import type { ExportState, VsphereExportDiskDto, VspherePowerState } from '@ferry/contracts';
import { DataSource } from 'typeorm';
import type { SnapshotRef } from '../sources/source';

/** Where the export's snapshot is in the never-left-behind protocol (see the inspector's README). */
export type SnapshotIntent = 'none' | 'intended' | 'created' | 'removed';

export interface ExportRecord {
  id: string;
  /** The VM's MoRef. */
  vmId: string;
  /** The id the export was asked for by: a MoRef or an inventory path. */
  requestedVmId: string;
  vmName: string;
  powerState: VspherePowerState;
  state: ExportState;
  /** The SDK URL, without credentials. */
  url: string;
  credentials: Buffer | null;
  credentialsKeyId: string | null;
  snapshotName: string | null;
  snapshotDescription: string | null;
  snapshotRef: SnapshotRef | null;
  snapshotIntent: SnapshotIntent;
  disks: VsphereExportDiskDto[];
  leaseMs: number;
  leaseExpiresAt: Date;
  claimedBy: string;
  lastError: string | null;
  createdAt: Date;
  closedAt: Date | null;
}

export type NewExport = Omit<
  ExportRecord,
  'state' | 'snapshotRef' | 'leaseExpiresAt' | 'lastError' | 'createdAt' | 'closedAt'
>;

const COLUMNS = `id, vm_id AS "vmId", requested_vm_id AS "requestedVmId", vm_name AS "vmName",
  power_state AS "powerState", state, url, credentials, credentials_key_id AS "credentialsKeyId",
  snapshot_name AS "snapshotName", snapshot_description AS "snapshotDescription",
  snapshot_ref AS "snapshotRef", snapshot_intent AS "snapshotIntent", disks, lease_ms AS "leaseMs",
  lease_expires_at AS "leaseExpiresAt", claimed_by AS "claimedBy", last_error AS "lastError",
  created_at AS "createdAt", closed_at AS "closedAt"`;

/** A lease of `lease_ms` from now, computed by Postgres so that every replica uses one clock. */
const LEASE_FROM_NOW = `now() + lease_ms * interval '1 millisecond'`;

/** The only code that reads or writes `inspector.exports`. */
@Injectable()
export class ExportRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records an open export (with its snapshot intent, when it will take one) and commits it. Its
   * first lease runs `holdMs` longer than `leaseMs`: while a CreateSnapshot task may still be running,
   * recovery must not take the export for abandoned and look for a snapshot that is not there yet.
   */
  async insert(e: NewExport, holdMs: number): Promise<ExportRecord> {
    const rows = (await this.ds.query(
      `INSERT INTO inspector.exports (id, vm_id, requested_vm_id, vm_name, power_state, state, url,
         credentials, credentials_key_id, snapshot_name, snapshot_description, snapshot_intent, disks,
         lease_ms, lease_expires_at, claimed_by)
       VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12, $13,
               now() + ($13::int + $14::int) * interval '1 millisecond', $15)
       RETURNING ${COLUMNS}`,
      [
        e.id,
        e.vmId,
        e.requestedVmId,
        e.vmName,
        e.powerState,
        e.url,
        e.credentials,
        e.credentialsKeyId,
        e.snapshotName,
        e.snapshotDescription,
        e.snapshotIntent,
        JSON.stringify(e.disks),
        e.leaseMs,
        holdMs,
        e.claimedBy,
      ],
    )) as ExportRecord[];
    return rows[0]!;
  }

  async find(id: string): Promise<ExportRecord | null> {
    const rows = (await this.ds.query(`SELECT ${COLUMNS} FROM inspector.exports WHERE id = $1`, [
      id,
    ])) as ExportRecord[];
    return rows[0] ?? null;
  }

  /** The snapshot exists (at `ref`); the lease starts for real. Null when the export was closed meanwhile. */
  async snapshotCreated(id: string, ref: SnapshotRef): Promise<ExportRecord | null> {
    return this.one(
      `UPDATE inspector.exports SET snapshot_intent = 'created', snapshot_ref = $2,
              lease_expires_at = ${LEASE_FROM_NOW}
        WHERE id = $1 AND state = 'open' RETURNING ${COLUMNS}`,
      [id, JSON.stringify(ref)],
    );
  }

  /** Renews an open export's lease for `me`; null when it is closed or its lease has run out. */
  async renew(id: string, me: string): Promise<ExportRecord | null> {
    return this.one(
      `UPDATE inspector.exports SET lease_expires_at = ${LEASE_FROM_NOW}, claimed_by = $2
        WHERE id = $1 AND state = 'open' AND lease_expires_at > now() RETURNING ${COLUMNS}`,
      [id, me],
    );
  }

  /** Ends the lease now: the caller is done with the export, so nothing may renew it any more. */
  async expire(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE inspector.exports SET lease_expires_at = least(lease_expires_at, now())
        WHERE id = $1 AND state = 'open'`,
      [id],
    );
  }

  /** Closed: the snapshot (if any) removed, the credentials forgotten. Null when it already was. */
  async markClosed(id: string): Promise<ExportRecord | null> {
    return this.one(
      `UPDATE inspector.exports SET state = 'closed', closed_at = now(), credentials = NULL,
              credentials_key_id = NULL, last_error = NULL,
              snapshot_intent = CASE snapshot_intent WHEN 'none' THEN 'none' ELSE 'removed' END,
              lease_expires_at = least(lease_expires_at, now())
        WHERE id = $1 AND state = 'open' RETURNING ${COLUMNS}`,
      [id],
    );
  }

  async closeFailed(id: string, error: string): Promise<void> {
    await this.ds.query(`UPDATE inspector.exports SET last_error = $2 WHERE id = $1 AND state = 'open'`, [
      id,
      error,
    ]);
  }

  /** Open exports whose lease has run out, oldest first: recovery closes them. */
  async expired(): Promise<ExportRecord[]> {
    return (await this.ds.query(
      `SELECT ${COLUMNS} FROM inspector.exports WHERE state = 'open' AND lease_expires_at <= now()
        ORDER BY lease_expires_at LIMIT 100`,
    )) as ExportRecord[];
  }

  /** Takes an export over from a dead replica (compare-and-set on its claimer). */
  async adopt(id: string, from: string, me: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE inspector.exports SET claimed_by = $3 WHERE id = $1 AND claimed_by = $2 AND state = 'open'`,
      [id, from, me],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Of these exports, the ones still open and claimed by `me` (the rest need no session here). */
  async stillMine(ids: string[], me: string): Promise<Set<string>> {
    const rows = (await this.ds.query(
      `SELECT id FROM inspector.exports WHERE id = ANY($1::uuid[]) AND state = 'open' AND claimed_by = $2`,
      [ids, me],
    )) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  private async one(sql: string, params: unknown[]): Promise<ExportRecord | null> {
    const [rows] = (await this.ds.query(sql, params)) as [ExportRecord[], number];
    return rows[0] ?? null;
  }
}
