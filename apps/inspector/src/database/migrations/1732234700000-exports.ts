import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Exports of vSphere VMs' disks (volume-daemon's imports read them). An export holds a snapshot for a
 * lease; its snapshot intent is recorded here before the snapshot is asked for, so that recovery can
 * remove it whatever happens to the replica that took it.
 */
export class InspectorExports1732234700000 implements MigrationInterface {
  name = 'InspectorExports1732234700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE inspector.exports (
        id uuid PRIMARY KEY,
        -- the VM's MoRef, and the id it was asked for by (a MoRef or an inventory path)
        vm_id text NOT NULL,
        requested_vm_id text NOT NULL,
        vm_name text NOT NULL,
        power_state text NOT NULL,
        state text NOT NULL CHECK (state IN ('open', 'closed')),
        -- the SDK URL, without credentials
        url text NOT NULL,
        -- AES-256-GCM of {username, password}, the export id as associated data; NULL once closed
        credentials bytea,
        credentials_key_id text,
        snapshot_name text,
        snapshot_description text,
        -- where the snapshot is ({moref, snapshot}); NULL until it exists
        snapshot_ref jsonb,
        snapshot_intent text NOT NULL CHECK (snapshot_intent IN ('none', 'intended', 'created', 'removed')),
        disks jsonb NOT NULL,
        lease_ms int NOT NULL,
        lease_expires_at timestamptz NOT NULL,
        -- the replica that renewed it last (it holds the session the reader's cookie belongs to)
        claimed_by text NOT NULL,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        closed_at timestamptz
      )`);
    await q.query(`CREATE INDEX exports_open ON inspector.exports (lease_expires_at) WHERE state = 'open'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS inspector.exports`);
  }
}
