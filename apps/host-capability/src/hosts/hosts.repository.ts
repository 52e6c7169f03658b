import { Injectable } from '@nestjs/common';
import type { DiscoveryDriver, HostStatus, Inventory } from '@ferry/contracts';
import { isUuid } from '@ferry/contracts';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';

/** A host as stored. `traits` are the discovered ones; custom traits live in the catalog. */
export interface HostRecord {
  id: string;
  name: string;
  uri: string;
  driver: DiscoveryDriver;
  status: HostStatus;
  statusReason: string | null;
  isLocal: boolean;
  latestVersion: number | null;
  traits: string[];
  inventory: Inventory;
  lastDiscoveredAt: Date | null;
  refreshClaimedBy: string | null;
  refreshClaimedAt: Date | null;
  createdAt: Date;
}

interface HostRow {
  id: string;
  name: string;
  uri: string;
  driver: DiscoveryDriver;
  status: HostStatus;
  status_reason: string | null;
  is_local: boolean;
  latest_version: number | null;
  traits: string[];
  inventory: Inventory;
  last_discovered_at: Date | null;
  refresh_claimed_by: string | null;
  refresh_claimed_at: Date | null;
  created_at: Date;
}

export function toHostRecord(row: HostRow): HostRecord {
  return {
    id: row.id,
    name: row.name,
    uri: row.uri,
    driver: row.driver,
    status: row.status,
    statusReason: row.status_reason,
    isLocal: row.is_local,
    latestVersion: row.latest_version,
    traits: row.traits,
    inventory: row.inventory,
    lastDiscoveredAt: row.last_discovered_at,
    refreshClaimedBy: row.refresh_claimed_by,
    refreshClaimedAt: row.refresh_claimed_at,
    createdAt: row.created_at,
  };
}

/** TypeORM answers UPDATE and DELETE with `[rows, affected]` (INSERT and SELECT with the rows). */
const T = 'host_capability.hosts';

@Injectable()
export class HostsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Inserts the host unless one of that name (or a second local host) exists; undefined then. */
  async insert(
    em: EntityManager,
    host: { id: string; name: string; uri: string; driver: DiscoveryDriver; isLocal: boolean },
  ): Promise<HostRecord | undefined> {
    const rows: HostRow[] = await em.query(
      `INSERT INTO ${T} (id, name, uri, driver, status, is_local) VALUES ($1, $2, $3, $4, 'pending', $5)
       ON CONFLICT DO NOTHING RETURNING *`,
      [host.id, host.name, host.uri, host.driver, host.isLocal],
    );
    if (rows[0]) await this.bumpGeneration(em); // placement knows it at once, as not discovered yet
    return rows[0] && toHostRecord(rows[0]);
  }

  /** An id that is not a UUID names no host. */
  async find(id: string, em: EntityManager = this.ds.manager): Promise<HostRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: HostRow[] = await em.query(`SELECT * FROM ${T} WHERE id = $1`, [id]);
    return rows[0] && toHostRecord(rows[0]);
  }

  async findByName(name: string): Promise<HostRecord | undefined> {
    const rows: HostRow[] = await this.ds.query(`SELECT * FROM ${T} WHERE name = $1`, [name]);
    return rows[0] && toHostRecord(rows[0]);
  }

  async findLocal(): Promise<HostRecord | undefined> {
    const rows: HostRow[] = await this.ds.query(`SELECT * FROM ${T} WHERE is_local`);
    return rows[0] && toHostRecord(rows[0]);
  }

  /** Up to `take` hosts by name (unique: the keyset), after the name `after` if given. */
  async page(take: number, after: string | undefined): Promise<HostRecord[]> {
    const rows: HostRow[] = await this.ds.query(
      `SELECT * FROM ${T} WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2`,
      [after ?? null, take],
    );
    return rows.map(toHostRecord);
  }

  /** The ones of `ids` that are registered hosts. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const rows: { id: string }[] = await this.ds.query(`SELECT id FROM ${T} WHERE id = ANY($1)`, [
      ids.filter(isUuid),
    ]);
    return new Set(rows.map((r) => r.id));
  }

  async lock(em: EntityManager, id: string): Promise<HostRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const rows: HostRow[] = await em.query(`SELECT * FROM ${T} WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] && toHostRecord(rows[0]);
  }

  /** Deletes the host and its versions; placement forgets it. */
  async delete(em: EntityManager, id: string): Promise<boolean> {
    const [, deleted] = (await em.query(`DELETE FROM ${T} WHERE id = $1`, [id])) as [unknown, number];
    if (deleted > 0) await this.bumpGeneration(em);
    return deleted > 0;
  }

  /**
   * Claims the host's refresh for `owner` unless another live claim holds it (a claim older than
   * `staleMs` is dead: its process crashed or hung). A pending host turns `discovering`.
   */
  async claim(id: string, owner: string, staleMs: number): Promise<HostRecord | undefined> {
    const [rows] = (await this.ds.query(
      `UPDATE ${T} SET refresh_claimed_by = $2, refresh_claimed_at = now(), last_attempt_at = now(),
         status = CASE WHEN status = 'pending' THEN 'discovering' ELSE status END, updated_at = now()
       WHERE id = $1 AND (refresh_claimed_at IS NULL OR refresh_claimed_at < now() - $3 * interval '1 millisecond')
       RETURNING *`,
      [id, owner, staleMs],
    )) as [HostRow[], number];
    return rows[0] && toHostRecord(rows[0]);
  }

  /** Claims up to `limit` hosts whose last attempt is older than `intervalMs` (or never was). */
  async claimDue(owner: string, intervalMs: number, staleMs: number, limit: number): Promise<HostRecord[]> {
    if (limit <= 0) return [];
    const [rows] = (await this.ds.query(
      `UPDATE ${T} h SET refresh_claimed_by = $1, refresh_claimed_at = now(), last_attempt_at = now(),
         status = CASE WHEN h.status = 'pending' THEN 'discovering' ELSE h.status END, updated_at = now()
       FROM (SELECT id FROM ${T}
             WHERE (last_attempt_at IS NULL OR last_attempt_at < now() - $2 * interval '1 millisecond')
               AND (refresh_claimed_at IS NULL OR refresh_claimed_at < now() - $3 * interval '1 millisecond')
             ORDER BY last_attempt_at NULLS FIRST LIMIT $4 FOR UPDATE SKIP LOCKED) due
       WHERE h.id = due.id RETURNING h.*`,
      [owner, intervalMs, staleMs, limit],
    )) as [HostRow[], number];
    return rows.map(toHostRecord);
  }

  /** Gives a claim back without a result (shutdown). */
  async release(id: string, owner: string): Promise<void> {
    await this.ds.query(
      `UPDATE ${T} SET refresh_claimed_by = NULL, refresh_claimed_at = NULL WHERE id = $1 AND refresh_claimed_by = $2`,
      [id, owner],
    );
  }

  /** Records a discovery's outcome and ends the claim. */
  async finish(
    em: EntityManager,
    id: string,
    change: {
      status: HostStatus;
      statusReason: string | null;
      latestVersion?: number;
      traits?: string[];
      inventory?: Inventory;
      discovered: boolean;
    },
  ): Promise<void> {
    await em.query(
      `UPDATE ${T} SET status = $2, status_reason = $3,
         latest_version = COALESCE($4::integer, latest_version), traits = COALESCE($5::text[], traits),
         inventory = COALESCE($6::jsonb, inventory),
         last_discovered_at = CASE WHEN $7::boolean THEN now() ELSE last_discovered_at END,
         refresh_claimed_by = NULL, refresh_claimed_at = NULL, updated_at = now()
       WHERE id = $1`,
      [
        id,
        change.status,
        change.statusReason,
        change.latestVersion ?? null,
        change.traits ?? null,
        change.inventory ? JSON.stringify(change.inventory) : null,
        change.discovered,
      ],
    );
  }

  /** Tells every replica's placement view that it is stale (same transaction as the change). */
  async bumpGeneration(em: EntityManager): Promise<void> {
    await em.query(`UPDATE host_capability.placement_generation SET value = value + 1`);
  }
}
