import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class InspectorInit1732233600000 implements MigrationInterface {
  name = 'InspectorInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'inspector');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropSchemaWithOutbox(q, 'inspector');
  }
}
