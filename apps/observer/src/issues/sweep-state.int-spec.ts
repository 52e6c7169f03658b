import { createServiceDataSource, runMigrations } from '@ferry/platform';
import { createTestDatabase } from '@ferry/testing';
import type { DataSource } from 'typeorm';
import { OBSERVER_DATABASE } from '../database/observer.database';
import { RECENT_SWEEPS, SweepStateRepository } from './sweep-state.repository';

/** The last sweep's row on a real Postgres: it keeps the last RECENT_SWEEPS sweeps, oldest first. */
describe('SweepStateRepository', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('ferry_observer_state');
    ds = createServiceDataSource(OBSERVER_DATABASE, { url: db.url, poolSize: 2, applicationName: 'test' });
    await ds.initialize();
    await runMigrations(ds, OBSERVER_DATABASE.schema);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('keeps the last sweeps, oldest first, however many have run', async () => {
    const repo = new SweepStateRepository(ds);
    expect(await repo.get()).toBeUndefined();
    const start = Date.parse('2026-12-06T00:00:00.000Z');
    const total = RECENT_SWEEPS + 5;
    for (let i = 0; i < total; i++)
      await repo.save({
        finished_at: new Date(start + i * 5000),
        duration_ms: i,
        cpu_ms: 1,
        checked: { vms: 1, disks: 2 },
        skipped: 0,
        errors: [],
        phases_ms: { records: i },
      });
    const state = (await repo.get())!;
    expect(state.duration_ms).toBe(total - 1);
    expect(state.phases_ms).toEqual({ records: total - 1 });
    expect(state.recent!.map((r) => r.duration_ms)).toEqual(
      Array.from({ length: RECENT_SWEEPS }, (_, k) => total - RECENT_SWEEPS + k),
    );
    expect(state.recent!.at(-1)).toEqual({
      finished_at: new Date(start + (total - 1) * 5000).toISOString(),
      duration_ms: total - 1,
    });
  });
});
