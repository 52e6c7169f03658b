import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VolumeDisks1732234100000 implements MigrationInterface {
  name = 'VolumeDisks1732234100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE volume.disks (
        id           uuid PRIMARY KEY,
        name         varchar(63) NOT NULL UNIQUE,
        size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
        format       varchar(8) NOT NULL CHECK (format IN ('qcow2', 'raw')),
        state        varchar(16) NOT NULL CHECK (state IN
                       ('creating', 'available', 'attaching', 'in-use', 'detaching', 'deleting', 'error')),
        backend      varchar(16) NOT NULL,
        ref          text NOT NULL,
        path         text,
        vm_id        uuid,
        mount_point  text,
        generation   bigint NOT NULL DEFAULT 0,
        operation_id uuid,
        last_error   text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        CHECK (state NOT IN ('attaching', 'in-use', 'detaching') OR vm_id IS NOT NULL)
      )`);
    await q.query('CREATE INDEX disks_vm_id_idx ON volume.disks (vm_id) WHERE vm_id IS NOT NULL');
    // Operations outlive their disk (history), so no foreign key.
    await q.query(`
      CREATE TABLE volume.operations (
        id             uuid PRIMARY KEY,
        type           varchar(32) NOT NULL,
        status         varchar(16) NOT NULL CHECK (status IN
                         ('pending', 'executing', 'completed', 'failed', 'cancelled')),
        disk_id        uuid NOT NULL,
        vm_id          uuid,
        params         jsonb NOT NULL DEFAULT '{}',
        steps          jsonb NOT NULL DEFAULT '[]',
        correlation    jsonb,
        error          jsonb,
        correlation_id text,
        claimed_by     uuid,
        created_at     timestamptz NOT NULL DEFAULT now(),
        started_at     timestamptz,
        finished_at    timestamptz,
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX operations_unfinished_idx ON volume.operations (created_at)
         WHERE status IN ('pending', 'executing')`,
    );
    await q.query('CREATE INDEX operations_disk_idx ON volume.operations (disk_id, created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE volume.operations');
    await q.query('DROP TABLE volume.disks');
  }
}
