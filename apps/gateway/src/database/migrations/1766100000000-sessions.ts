import type { MigrationInterface, QueryRunner } from 'typeorm';

export class GatewaySessions1766100000000 implements MigrationInterface {
  name = 'GatewaySessions1766100000000';

  async up(q: QueryRunner): Promise<void> {
    // A browser session made from an API key (POST /session): only the SHA-256 of its cookie is kept;
    // the key's role and revocation apply to it. Deleted at sign-out, or once expired.
    await q.query(`
      CREATE TABLE gateway.sessions (
        token_hash char(64) PRIMARY KEY,
        key_id     varchar(12) NOT NULL REFERENCES gateway.api_keys (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query('CREATE INDEX sessions_expires ON gateway.sessions (expires_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE gateway.sessions');
  }
}
