import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seed 000's inspection queue, per run. `control` names the current run (the inspector's state is
 * its state, `ready` when there is none); earlier runs and their queues stay as history.
 */
export class InspectorQueue1732234500000 implements MigrationInterface {
  name = 'InspectorQueue1732234500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inspector.runs (
        id uuid PRIMARY KEY,
        source_type text NOT NULL,
        -- what the source is, without secrets: {url} for vsphere, the spec for noop
        source jsonb NOT NULL,
        state text NOT NULL,
        error text,
        -- AES-256-GCM of {username, password}; NULL once the run has ended and left no snapshot
        credentials bytea,
        credentials_key_id text,
        accepted_by text NOT NULL,
        correlation_id text,
        initialized_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE inspector.control (
        id int PRIMARY KEY CHECK (id = 1),
        current_run uuid REFERENCES inspector.runs (id)
      )`);
    await q.query(`INSERT INTO inspector.control (id, current_run) VALUES (1, NULL)`);
    await q.query(`CREATE SEQUENCE inspector.queue_seq`);
    await q.query(`
      CREATE TABLE inspector.queue (
        run_id uuid NOT NULL REFERENCES inspector.runs (id),
        vm_id text NOT NULL,
        seq bigint NOT NULL DEFAULT nextval('inspector.queue_seq'),
        state text NOT NULL,
        error text,
        results jsonb,
        claimed_by text,
        cancel_requested boolean NOT NULL DEFAULT false,
        attempts int NOT NULL DEFAULT 0,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        PRIMARY KEY (run_id, vm_id)
      )`);
    await q.query(`CREATE INDEX queue_pending ON inspector.queue (run_id, seq) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX queue_running ON inspector.queue (run_id) WHERE state = 'running'`);
    await q.query(`CREATE INDEX queue_vm ON inspector.queue (vm_id)`);
    await q.query(`
      CREATE TABLE inspector.snapshot_intents (
        id uuid PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES inspector.runs (id),
        vm_id text NOT NULL,
        name text NOT NULL,
        description text NOT NULL,
        -- where the source put it; NULL until the snapshot exists
        ref jsonb,
        state text NOT NULL CHECK (state IN ('intended', 'created', 'removed')),
        claimed_by text NOT NULL,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        removed_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX snapshot_intents_open ON inspector.snapshot_intents (run_id) WHERE state <> 'removed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS inspector.snapshot_intents`);
    await q.query(`DROP TABLE IF EXISTS inspector.queue`);
    await q.query(`DROP SEQUENCE IF EXISTS inspector.queue_seq`);
    await q.query(`DROP TABLE IF EXISTS inspector.control`);
    await q.query(`DROP TABLE IF EXISTS inspector.runs`);
  }
}
