import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class VolumeDaemonInit1732233600000 implements MigrationInterface {
  name = 'VolumeDaemonInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'volume');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropSchemaWithOutbox(q, 'volume');
  }
}
