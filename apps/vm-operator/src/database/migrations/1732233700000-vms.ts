import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Vms1732233700000 implements MigrationInterface {
  name = 'Vms1732233700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE vm_operator.vms (
        id          uuid PRIMARY KEY,
        name        varchar(63) NOT NULL UNIQUE,
        template    varchar(63) NOT NULL REFERENCES vm_operator.templates (name) ON DELETE RESTRICT,
        state       varchar(16) NOT NULL CHECK (state IN ('stopped', 'starting', 'running', 'stopping', 'error')),
        local_ip    inet,
        pid         integer,
        accelerator varchar(8) CHECK (accelerator IN ('kvm', 'tcg')),
        last_error  text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX vms_template ON vm_operator.vms (template)');
    await q.query('CREATE INDEX vms_state ON vm_operator.vms (state)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE vm_operator.vms');
  }
}
