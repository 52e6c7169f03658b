import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The per-VM statuses read the latest initialized run (`QueueRepository.queueRun`) on every GET. */
export class InspectorQueueRun1732234600000 implements MigrationInterface {
  name = 'InspectorQueueRun1732234600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX runs_initialized ON inspector.runs (initialized_at DESC) WHERE initialized_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS inspector.runs_initialized`);
  }
}
