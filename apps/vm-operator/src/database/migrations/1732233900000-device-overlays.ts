import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeviceOverlays1732233900000 implements MigrationInterface {
  name = 'DeviceOverlays1732233900000';

  async up(q: QueryRunner): Promise<void> {
    // Set while a snapshot of the disk exists: the overlay that holds the writes since.
    await q.query('ALTER TABLE vm_operator.vm_devices ADD COLUMN overlay_path text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE vm_operator.vm_devices DROP COLUMN overlay_path');
  }
}
