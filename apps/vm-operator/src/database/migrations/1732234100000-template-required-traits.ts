import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Host traits a template's VMs need (checked with host-capability's placement at VM creation). */
export class TemplateRequiredTraits1732234100000 implements MigrationInterface {
  name = 'TemplateRequiredTraits1732234100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE vm_operator.templates ADD COLUMN required_traits text[] NOT NULL DEFAULT '{}'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE vm_operator.templates DROP COLUMN required_traits');
  }
}
