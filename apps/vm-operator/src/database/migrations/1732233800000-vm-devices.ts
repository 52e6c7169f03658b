import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VmDevices1732233800000 implements MigrationInterface {
  name = 'VmDevices1732233800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE vm_operator.vm_devices (
        vm_id       uuid NOT NULL REFERENCES vm_operator.vms (id) ON DELETE RESTRICT,
        device_id   varchar(63) NOT NULL,
        path        text NOT NULL,
        format      varchar(8) NOT NULL CHECK (format IN ('qcow2', 'raw')),
        read_only   boolean NOT NULL,
        attached_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (vm_id, device_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE vm_operator.vm_devices');
  }
}
