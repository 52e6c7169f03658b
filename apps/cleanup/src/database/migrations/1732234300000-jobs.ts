import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CleanupJobs1732234300000 implements MigrationInterface {
  name = 'CleanupJobs1732234300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cleanup.jobs (
        id uuid PRIMARY KEY,
        vm_name text NOT NULL,
        type text NOT NULL DEFAULT 'test',
        status text NOT NULL,
        phase text NOT NULL DEFAULT 'failover',
        template text NOT NULL,
        appliance_vm_id uuid NOT NULL,
        appliance_vm_name text NOT NULL,
        test_vm_id uuid,
        test_vm_name text NOT NULL,
        volumes jsonb NOT NULL,
        delete_vm boolean NOT NULL DEFAULT true,
        steps jsonb NOT NULL DEFAULT '[]',
        error jsonb,
        failover_error jsonb,
        requested_by text,
        cleanup_requested_by text,
        correlation_id text,
        claimed_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CONSTRAINT jobs_status_check CHECK (status IN
          ('pending','running','test_active','cleanup_running','cleanup_completed','failed','cleanup_failed')),
        CONSTRAINT jobs_phase_check CHECK (phase IN ('failover','cleanup'))
      )`);
    // The per-VM lock: at most one job holds a VM until it is cleaned up, across every replica.
    await q.query(`
      CREATE UNIQUE INDEX jobs_one_active_per_vm ON cleanup.jobs (vm_name)
      WHERE status IN ('pending','running','test_active','cleanup_running','cleanup_failed')`);
    await q.query('CREATE INDEX jobs_vm_name_created ON cleanup.jobs (vm_name, created_at DESC)');
    await q.query('CREATE INDEX jobs_status ON cleanup.jobs (status, created_at DESC)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cleanup.jobs');
  }
}
