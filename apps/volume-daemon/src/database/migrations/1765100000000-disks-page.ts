import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The keyset of `volume-daemon.disk.list`'s pages: (created_at, id). */
export class VolumeDisksPage1765100000000 implements MigrationInterface {
  name = 'VolumeDisksPage1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX disks_page_idx ON volume.disks (created_at, id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX volume.disks_page_idx');
  }
}
