import { Injectable } from '@nestjs/common';
import type {
  CapabilityChangeDto,
  CapabilitySnapshotDto,
  CapabilityVersionDto,
  DiscoveryDriver,
  HostCapabilityData,
  Inventory,
} from '@ferry/contracts';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';

interface VersionRow {
  host_id: string;
  version: number;
  driver: DiscoveryDriver;
  fingerprint: string;
  data: HostCapabilityData;
  traits: string[];
  inventory: Inventory;
  changes: CapabilityChangeDto[];
  traits_added: string[];
  traits_removed: string[];
  discovered_at: Date;
  confirmed_at: Date;
}

export interface NewVersion {
  hostId: string;
  version: number;
  driver: DiscoveryDriver;
  fingerprint: string;
  data: HostCapabilityData;
  traits: string[];
  inventory: Inventory;
  changes: CapabilityChangeDto[];
  traitsAdded: string[];
  traitsRemoved: string[];
}

function toSnapshot(row: VersionRow): CapabilitySnapshotDto {
  return {
    host_id: row.host_id,
    version: row.version,
    driver: row.driver,
    discovered_at: row.discovered_at.toISOString(),
    confirmed_at: row.confirmed_at.toISOString(),
    data: row.data,
    traits: row.traits,
    inventory: row.inventory,
  };
}

const T = 'host_capability.capability_versions';

@Injectable()
export class VersionsRepository {
  constructor(private readonly ds: DataSource) {}

  /** The latest version's number, fingerprint and traits: enough to tell whether a discovery changed anything. */
  async latest(
    em: EntityManager,
    hostId: string,
  ): Promise<{ version: number; fingerprint: string; traits: string[] } | undefined> {
    const rows: VersionRow[] = await em.query(
      `SELECT version, fingerprint, traits FROM ${T} WHERE host_id = $1 ORDER BY version DESC LIMIT 1`,
      [hostId],
    );
    return rows[0];
  }

  /** A version's facts and inventory (read only when a discovery differs from it, to list the changes). */
  async content(
    em: EntityManager,
    hostId: string,
    version: number,
  ): Promise<{ data: HostCapabilityData; inventory: Inventory }> {
    const rows: VersionRow[] = await em.query(
      `SELECT data, inventory FROM ${T} WHERE host_id = $1 AND version = $2`,
      [hostId, version],
    );
    return rows[0]!;
  }

  async insert(em: EntityManager, v: NewVersion): Promise<void> {
    await em.query(
      `INSERT INTO ${T} (host_id, version, driver, fingerprint, data, traits, inventory, changes,
         traits_added, traits_removed, discovered_at, confirmed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now())`,
      [
        v.hostId,
        v.version,
        v.driver,
        v.fingerprint,
        JSON.stringify(v.data),
        v.traits,
        JSON.stringify(v.inventory),
        JSON.stringify(v.changes),
        v.traitsAdded,
        v.traitsRemoved,
      ],
    );
  }

  /** A discovery found the same facts again. */
  async confirm(em: EntityManager, hostId: string, version: number): Promise<void> {
    await em.query(`UPDATE ${T} SET confirmed_at = now() WHERE host_id = $1 AND version = $2`, [
      hostId,
      version,
    ]);
  }

  async get(hostId: string, version?: number): Promise<CapabilitySnapshotDto | undefined> {
    const rows: VersionRow[] =
      version === undefined
        ? await this.ds.query(`SELECT * FROM ${T} WHERE host_id = $1 ORDER BY version DESC LIMIT 1`, [hostId])
        : await this.ds.query(`SELECT * FROM ${T} WHERE host_id = $1 AND version = $2`, [hostId, version]);
    return rows[0] && toSnapshot(rows[0]);
  }

  /** Up to `take` versions' changes, newest first (not the data itself), before version `before`. */
  async history(hostId: string, take: number, before: number | undefined): Promise<CapabilityVersionDto[]> {
    const rows: VersionRow[] = await this.ds.query(
      `SELECT version, discovered_at, changes, traits_added, traits_removed FROM ${T}
       WHERE host_id = $1 AND ($2::int IS NULL OR version < $2) ORDER BY version DESC LIMIT $3`,
      [hostId, before ?? null, take],
    );
    return rows.map((r) => ({
      version: r.version,
      discovered_at: r.discovered_at.toISOString(),
      changes: r.changes,
      traits_added: r.traits_added,
      traits_removed: r.traits_removed,
    }));
  }
}
