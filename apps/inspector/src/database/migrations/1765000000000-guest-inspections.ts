import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deep inspections of Ferry volumes (a migration's INSPECT): one row per caller's id, run in the
 * background by a ResumableRunner, so a crash of the replica running one loses nothing.
 */
export class InspectorGuestInspections1765000000000 implements MigrationInterface {
  name = 'InspectorGuestInspections1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inspector.guest_inspections (
        id uuid PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
        -- volume-daemon disk ids, in the order the appliance sees them (sda, sdb, ...)
        disk_ids jsonb NOT NULL,
        fix_inputs boolean NOT NULL,
        result jsonb,
        error text,
        attempts int NOT NULL DEFAULT 0,
        claimed_by text,
        correlation_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX guest_inspections_unfinished ON inspector.guest_inspections (created_at)
         WHERE state IN ('pending', 'running')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS inspector.guest_inspections`);
  }
}
