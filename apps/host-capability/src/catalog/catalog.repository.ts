import { Injectable } from '@nestjs/common';
import type { CatalogItemDto, CatalogKind } from '@ferry/contracts';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';

interface CatalogRow {
  name: string;
  spec: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export function toItem(row: CatalogRow): CatalogItemDto {
  return {
    ...row.spec,
    name: row.name,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const T = 'host_capability.catalog';

@Injectable()
export class CatalogRepository {
  constructor(private readonly ds: DataSource) {}

  async list<S = Record<string, unknown>>(kind: CatalogKind): Promise<(CatalogRow & { spec: S })[]> {
    return this.ds.query(
      `SELECT name, spec, created_at, updated_at FROM ${T} WHERE kind = $1 ORDER BY name`,
      [kind],
    );
  }

  /** Up to `take` items of a kind by name (unique per kind: the keyset), after the name `after`. */
  async page(kind: CatalogKind, take: number, after: string | undefined): Promise<CatalogRow[]> {
    return this.ds.query(
      `SELECT name, spec, created_at, updated_at FROM ${T}
        WHERE kind = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3`,
      [kind, after ?? null, take],
    );
  }

  async get<S = Record<string, unknown>>(
    kind: CatalogKind,
    name: string,
  ): Promise<(CatalogRow & { spec: S }) | undefined> {
    const rows: (CatalogRow & { spec: S })[] = await this.ds.query(
      `SELECT name, spec, created_at, updated_at FROM ${T} WHERE kind = $1 AND name = $2`,
      [kind, name],
    );
    return rows[0];
  }

  /** undefined when it already exists. */
  async create(
    em: EntityManager,
    kind: CatalogKind,
    name: string,
    spec: object,
  ): Promise<CatalogRow | undefined> {
    const rows: CatalogRow[] = await em.query(
      `INSERT INTO ${T} (kind, name, spec) VALUES ($1, $2, $3) ON CONFLICT (kind, name) DO NOTHING
       RETURNING name, spec, created_at, updated_at`,
      [kind, name, JSON.stringify(spec)],
    );
    return rows[0];
  }

  /** undefined when it does not exist. */
  async replace(
    em: EntityManager,
    kind: CatalogKind,
    name: string,
    spec: object,
  ): Promise<CatalogRow | undefined> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows] = (await em.query(
      `UPDATE ${T} SET spec = $3, updated_at = now() WHERE kind = $1 AND name = $2
       RETURNING name, spec, created_at, updated_at`,
      [kind, name, JSON.stringify(spec)],
    )) as [CatalogRow[], number];
    return rows[0];
  }

  async delete(em: EntityManager, kind: CatalogKind, name: string): Promise<boolean> {
    const [, deleted] = (await em.query(`DELETE FROM ${T} WHERE kind = $1 AND name = $2`, [kind, name])) as [
      unknown,
      number,
    ];
    return deleted > 0;
  }

  /** Takes a deleted host off every custom trait. */
  async forgetHost(em: EntityManager, hostId: string): Promise<void> {
    await em.query(
      `UPDATE ${T} SET spec = jsonb_set(spec, '{host_ids}',
         (SELECT COALESCE(jsonb_agg(x), '[]'::jsonb) FROM jsonb_array_elements(spec->'host_ids') x WHERE x <> to_jsonb($1::text))),
         updated_at = now()
       WHERE kind = 'hardware-trait' AND spec->'host_ids' ? $1`,
      [hostId],
    );
  }

  /** Resource classes and placement policies whose traits name `trait`, as `kind/name`. */
  async usersOfTrait(trait: string): Promise<string[]> {
    const rows: { kind: string; name: string }[] = await this.ds.query(
      `SELECT kind, name FROM ${T}
       WHERE kind IN ('resource-class', 'placement-policy')
         AND (spec->'traits'->'required' ? $1 OR spec->'traits'->'forbidden' ? $1)
       ORDER BY kind, name`,
      [trait],
    );
    return rows.map((r) => `${r.kind}/${r.name}`);
  }

  /** Custom trait name → the ids of the hosts that carry it. */
  async customTraits(em: EntityManager = this.ds.manager): Promise<Map<string, string[]>> {
    const rows: { name: string; host_ids: string[] | null }[] = await em.query(
      `SELECT name, ARRAY(SELECT jsonb_array_elements_text(COALESCE(spec->'host_ids', '[]'))) AS host_ids
       FROM ${T} WHERE kind = 'hardware-trait'`,
    );
    return new Map(rows.map((r) => [r.name, r.host_ids ?? []]));
  }
}
