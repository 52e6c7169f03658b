import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class GatewayInit1732233600000 implements MigrationInterface {
  name = 'GatewayInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'gateway');
    await q.query(`
      CREATE TABLE gateway.api_keys (
        id          varchar(12) PRIMARY KEY,
        name        varchar(100) NOT NULL,
        role        varchar(16) NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        secret_hash char(64) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      )`);
    await q.query(`
      CREATE TABLE gateway.idempotency_keys (
        principal   varchar(64) NOT NULL,
        key         varchar(255) NOT NULL,
        fingerprint char(64) NOT NULL,
        status      integer,
        location    text,
        body        jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (principal, key)
      )`);
    await q.query('CREATE INDEX idempotency_keys_created ON gateway.idempotency_keys (created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE gateway.idempotency_keys');
    await q.query('DROP TABLE gateway.api_keys');
    await dropSchemaWithOutbox(q, 'gateway');
  }
}
