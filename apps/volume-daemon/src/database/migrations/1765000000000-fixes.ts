import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Fix and convert operations (a migration's FIX and CONVERT): what an operation produced, and cancels. */
export class VolumeFixes1765000000000 implements MigrationInterface {
  name = 'VolumeFixes1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE volume.operations ADD COLUMN result jsonb');
    await q.query('ALTER TABLE volume.operations ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE volume.operations DROP COLUMN cancel_requested');
    await q.query('ALTER TABLE volume.operations DROP COLUMN result');
  }
}
