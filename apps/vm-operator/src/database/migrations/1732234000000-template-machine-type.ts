import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TemplateMachineType1732234000000 implements MigrationInterface {
  name = 'TemplateMachineType1732234000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE vm_operator.templates ADD COLUMN machine_type varchar(32) NOT NULL DEFAULT 'q35'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE vm_operator.templates DROP COLUMN machine_type');
  }
}
