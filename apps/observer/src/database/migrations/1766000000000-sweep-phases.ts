import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ObserverSweepPhases1766000000000 implements MigrationInterface {
  name = 'ObserverSweepPhases1766000000000';

  async up(q: QueryRunner): Promise<void> {
    // Where the last sweep's time went: {records, probes, judge, book, repairs} in ms.
    await q.query(`ALTER TABLE observer.sweep_state ADD COLUMN phases_ms jsonb NOT NULL DEFAULT '{}'`);
    // The last sweeps' [{finished_at, duration_ms}], oldest first (the console draws them against the interval).
    await q.query(`ALTER TABLE observer.sweep_state ADD COLUMN recent jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE observer.sweep_state DROP COLUMN recent');
    await q.query('ALTER TABLE observer.sweep_state DROP COLUMN phases_ms');
  }
}
