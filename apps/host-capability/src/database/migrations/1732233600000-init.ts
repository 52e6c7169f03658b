import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createSchemaWithOutbox, dropSchemaWithOutbox } from '@ferry/platform';

export class HostCapabilityInit1732233600000 implements MigrationInterface {
  name = 'HostCapabilityInit1732233600000';

  async up(q: QueryRunner): Promise<void> {
    await createSchemaWithOutbox(q, 'host_capability');
  }

  async down(q: QueryRunner): Promise<void> {
    await dropSchemaWithOutbox(q, 'host_capability');
  }
}
