import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class Init1732233600000 implements MigrationInterface {
  name = 'Init1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'vm_operator');
    await q.query(`
      CREATE TABLE vm_operator.templates (
        name       varchar(63) PRIMARY KEY,
        cpu_count  integer NOT NULL CHECK (cpu_count >= 1),
        ram_amount integer NOT NULL CHECK (ram_amount >= 1),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE vm_operator.templates');
    await dropSchemaWithOutbox(q, 'vm_operator');
  }
}
