import { Injectable } from '@nestjs/common';
import { keysetSql, keysetTime } from '@ferry/platform';
import { DataSource, IsNull } from 'typeorm';
import type { Role } from './roles';

/** A key as listed (no hash), with its created_at to the microsecond for the next page's cursor. */
export type ListedApiKey = Pick<ApiKeyEntity, 'id' | 'name' | 'role' | 'createdAt'> & { pageAt: string };
import { ApiKeyEntity } from './entities/api-key.entity';

/** The only code that touches `gateway.api_keys`. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly ds: DataSource) {}

  private get repo() {
    return this.ds.getRepository(ApiKeyEntity);
  }

  async insert(key: Omit<ApiKeyEntity, 'createdAt' | 'revokedAt'>): Promise<ApiKeyEntity> {
    const entity = this.repo.create({ ...key, revokedAt: null });
    await this.repo.insert(entity);
    return entity;
  }

  /** Inserts or re-activates a key with a fixed id (the bootstrap admin key). */
  async upsert(key: Omit<ApiKeyEntity, 'createdAt' | 'revokedAt'>): Promise<void> {
    await this.ds.query(
      `INSERT INTO gateway.api_keys (id, name, role, secret_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET name = $2, role = $3, secret_hash = $4, revoked_at = NULL`,
      [key.id, key.name, key.role, key.secretHash],
    );
  }

  findActive(id: string): Promise<ApiKeyEntity | null> {
    return this.repo.findOneBy({ id, revokedAt: IsNull() });
  }

  /** Up to `take` active keys, oldest first (created_at, id), after `after` (a cursor's [created_at, id]). */
  async pageActive(take: number, after: string[] | undefined): Promise<ListedApiKey[]> {
    const keyset = keysetSql(['created_at', 'id'], ['timestamptz', 'text'], 1);
    const rows: Array<{ id: string; name: string; role: Role; created_at: Date; page_at: string }> =
      await this.ds.query(
        `SELECT id, name, role, created_at, ${keysetTime('created_at')} AS page_at FROM gateway.api_keys
          WHERE revoked_at IS NULL AND ${keyset.after} ORDER BY ${keyset.orderBy} LIMIT $3`,
        [after?.[0] ?? null, after?.[1] ?? null, take],
      );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      createdAt: r.created_at,
      pageAt: r.page_at,
    }));
  }

  /** Returns false when no active key had that id. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }
}
