import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class CleanupInit1732233600000 implements MigrationInterface {
  name = 'CleanupInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'cleanup');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropSchemaWithOutbox(q, 'cleanup');
  }
}
