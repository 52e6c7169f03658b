import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Imports: the `importing` disk state and an operation's progress (stages, bytes, rate). */
export class VolumeImports1764547200000 implements MigrationInterface {
  name = 'VolumeImports1764547200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE volume.disks DROP CONSTRAINT IF EXISTS disks_state_check');
    await q.query(`
      ALTER TABLE volume.disks ADD CONSTRAINT disks_state_check CHECK (state IN
        ('creating', 'importing', 'available', 'attaching', 'in-use', 'detaching', 'deleting', 'error'))`);
    await q.query('ALTER TABLE volume.operations ADD COLUMN progress jsonb');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE volume.operations DROP COLUMN progress');
    await q.query('ALTER TABLE volume.disks DROP CONSTRAINT disks_state_check');
    await q.query(`
      ALTER TABLE volume.disks ADD CONSTRAINT disks_state_check CHECK (state IN
        ('creating', 'available', 'attaching', 'in-use', 'detaching', 'deleting', 'error'))`);
  }
}
