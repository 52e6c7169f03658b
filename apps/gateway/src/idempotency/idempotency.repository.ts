import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { IdempotencyRecordEntity } from './entities/idempotency-record.entity';

/** The only code that touches `gateway.idempotency_keys`. */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Claims (principal, key) for a new request. Returns null when the claim succeeded, otherwise the
   * record that already holds the key. Expired records are replaced in the same statement.
   */
  async claim(
    principal: string,
    key: string,
    fingerprint: string,
    ttlHours: number,
  ): Promise<IdempotencyRecordEntity | null> {
    const claimed: unknown[] = await this.ds.query(
      `INSERT INTO gateway.idempotency_keys (principal, key, fingerprint) VALUES ($1, $2, $3)
       ON CONFLICT (principal, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, status = NULL, location = NULL, body = NULL, created_at = now()
         WHERE gateway.idempotency_keys.created_at < now() - make_interval(hours => $4)
       RETURNING principal`,
      [principal, key, fingerprint, ttlHours],
    );
    if (claimed.length > 0) return null;
    return this.ds.getRepository(IdempotencyRecordEntity).findOneBy({ principal, key });
  }

  async complete(
    principal: string,
    key: string,
    status: number,
    location: string | null,
    body: unknown,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE gateway.idempotency_keys SET status = $3, location = $4, body = $5 WHERE principal = $1 AND key = $2`,
      [principal, key, status, location, JSON.stringify(body ?? null)],
    );
  }

  async release(principal: string, key: string): Promise<void> {
    await this.ds.query('DELETE FROM gateway.idempotency_keys WHERE principal = $1 AND key = $2', [
      principal,
      key,
    ]);
  }

  async purgeOlderThan(hours: number): Promise<void> {
    await this.ds.query(
      'DELETE FROM gateway.idempotency_keys WHERE created_at < now() - make_interval(hours => $1)',
      [hours],
    );
  }
}
