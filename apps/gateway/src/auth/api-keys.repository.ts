import { Injectable } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
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

  listActive(): Promise<ApiKeyEntity[]> {
    return this.repo.find({ where: { revokedAt: IsNull() }, order: { createdAt: 'ASC' } });
  }

  /** Returns false when no active key had that id. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.repo.update({ id, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }
}
