import { Injectable } from '@nestjs/common';
import type { HostStatus, Inventory } from '@ferry/contracts';
import { DataSource } from 'typeorm';
import { CatalogRepository } from '../catalog/catalog.repository';
import type { PlacementHost } from './place';

interface IndexRow {
  id: string;
  name: string;
  status: HostStatus;
  status_reason: string | null;
  latest_version: number | null;
  traits: string[];
  inventory: Inventory;
}

/**
 * What placement reads about every host, cached in memory and reloaded when the placement generation
 * changes. Every change placement sees (a host's traits, inventory or status, a custom trait) bumps
 * the generation in its own transaction, so each request costs one one-row read until something
 * changes, on every replica.
 */
@Injectable()
export class PlacementIndex {
  private cached?: { generation: string; hosts: PlacementHost[] };

  constructor(
    private readonly ds: DataSource,
    private readonly catalog: CatalogRepository,
  ) {}

  async hosts(): Promise<PlacementHost[]> {
    const rows: { value: string }[] = await this.ds.query(
      `SELECT value FROM host_capability.placement_generation`,
    );
    if (this.cached && this.cached.generation === rows[0]?.value) return this.cached.hosts;
    this.cached = await this.load();
    return this.cached.hosts;
  }

  /** The generation and the rows it describes, read in one snapshot. */
  private load(): Promise<{ generation: string; hosts: PlacementHost[] }> {
    return this.ds.transaction('REPEATABLE READ', async (em) => {
      const gen: { value: string }[] = await em.query(
        `SELECT value FROM host_capability.placement_generation`,
      );
      const rows: IndexRow[] = await em.query(
        `SELECT id, name, status, status_reason, latest_version, traits, inventory FROM host_capability.hosts ORDER BY name`,
      );
      const extra = new Map<string, string[]>();
      for (const [name, hostIds] of await this.catalog.customTraits(em)) {
        for (const id of hostIds) extra.set(id, [...(extra.get(id) ?? []), name]);
      }
      return {
        generation: gen[0]!.value,
        hosts: rows.map((r) => ({
          id: r.id,
          name: r.name,
          status: r.status,
          statusReason: r.status_reason,
          hasCapabilities: r.latest_version !== null,
          traits: new Set([...r.traits, ...(extra.get(r.id) ?? [])]),
          inventory: r.inventory,
        })),
      };
    });
  }
}
