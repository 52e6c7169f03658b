import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class ObserverInit1732233600000 implements MigrationInterface {
  name = 'ObserverInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'observer');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropSchemaWithOutbox(q, 'observer');
  }
}
