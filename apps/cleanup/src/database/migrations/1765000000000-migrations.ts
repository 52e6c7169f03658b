import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * VM migrations (seed 001's pipeline), beside seed 002's failover jobs: one row per migration with
 * its stages, what it made (volumes, template, test failover, production VM) and its plan and report.
 */
export class CleanupMigrations1765000000000 implements MigrationInterface {
  name = 'CleanupMigrations1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cleanup.vm_migrations (
        id uuid PRIMARY KEY,
        status text NOT NULL,
        mode text NOT NULL,
        cutover text NOT NULL,
        -- the vCenter SDK URL (no credentials), the VM as asked for, its MoRef and name
        vcenter_url text NOT NULL,
        vm_id text NOT NULL,
        moref text NOT NULL,
        vm_name text NOT NULL,
        -- '<vCenter host>/<MoRef>': at most one active migration per source VM
        source_key text NOT NULL,
        -- AES-256-GCM of {username, password}, the migration id as associated data; NULL once finished
        credentials bytea,
        credentials_key_id text,
        target jsonb NOT NULL,
        fixes jsonb,
        validate jsonb NOT NULL,
        stages jsonb NOT NULL,
        volumes jsonb NOT NULL DEFAULT '[]',
        -- what the stages found and made, as they went
        facts jsonb,
        export_id uuid,
        inspection_id uuid,
        plan jsonb,
        fix_operation_id uuid,
        fix_result jsonb,
        template_name text,
        failover_job_id uuid,
        validation jsonb,
        production_vm_id uuid,
        cutover_result jsonb,
        -- when a manual cutover was asked for (POST /migrations/{id}/cutover)
        cutover_requested_at timestamptz,
        source_power_before text,
        source_powered_off_at timestamptz,
        error jsonb,
        keep boolean NOT NULL DEFAULT false,
        cancel_requested boolean NOT NULL DEFAULT false,
        requested_by text,
        correlation_id text,
        claimed_by text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        CONSTRAINT vm_migrations_status_check CHECK (status IN ('pending', 'running', 'planned', 'blocked',
          'awaiting_cutover', 'completed', 'failed', 'canceling', 'canceled')),
        CONSTRAINT vm_migrations_mode_check CHECK (mode IN ('plan', 'migrate')),
        CONSTRAINT vm_migrations_cutover_check CHECK (cutover IN ('manual', 'auto'))
      )`);
    // The per-VM lock, across replicas (MIGRATION_ACTIVE_STATUSES).
    await q.query(`
      CREATE UNIQUE INDEX vm_migrations_one_active_per_vm ON cleanup.vm_migrations (source_key)
      WHERE status IN ('pending', 'running', 'awaiting_cutover', 'canceling', 'failed')`);
    await q.query('CREATE INDEX vm_migrations_created ON cleanup.vm_migrations (created_at DESC)');
    // A test VM's NICs: a migration's VALIDATE boots the guest on the MACs its fixes pinned.
    await q.query(`ALTER TABLE cleanup.jobs ADD COLUMN nics jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE cleanup.jobs DROP COLUMN nics');
    await q.query('DROP TABLE cleanup.vm_migrations');
  }
}
