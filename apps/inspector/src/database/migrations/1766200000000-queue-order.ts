import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `GET /vms/inspector/queue` pages a run's queue in its order, whatever each VM's state. */
export class InspectorQueueOrder1766200000000 implements MigrationInterface {
  name = 'InspectorQueueOrder1766200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX queue_order ON inspector.queue (run_id, seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS inspector.queue_order`);
  }
}
