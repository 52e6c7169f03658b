import { PostgresServerProcess, createTestDatabase, eventually } from '@ferry/testing';
import type { DataSource } from 'typeorm';
import { isPgUnavailable } from '../database/pg-errors';
import { createServiceDataSource } from '../database/service-database';
import { AdvisorySession } from './advisory-session';
import { ReplicaLiveness } from './replica-liveness';

/** Locks held across a Postgres crash (`-m immediate`) on a private cluster: they come back. */
describe('ReplicaLiveness and AdvisorySession across a Postgres restart', () => {
  let pg: PostgresServerProcess;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;

  const source = (name: string) =>
    createServiceDataSource(
      { schema: 'public', entities: [], migrations: [] },
      { url: db.url, poolSize: 2, applicationName: name },
    );

  beforeAll(async () => {
    pg = await PostgresServerProcess.start();
    db = await createTestDatabase('ferry_liveness', pg.adminUrl);
    ds = await source('liveness-test').initialize();
  }, 90_000);

  afterAll(async () => {
    await ds?.destroy().catch(() => undefined);
    await pg?.dispose();
  });

  it('keeps a replica alive across the restart, says "unsure" meanwhile, and classifies the errors', async () => {
    const a = new ReplicaLiveness(ds, 42, 'replica-a');
    const other = await source('liveness-other').initialize();
    const b = new ReplicaLiveness(other, 42, 'replica-b');
    const sweep = new AdvisorySession(ds, 'sweep');
    try {
      await a.hold();
      await b.hold();
      await sweep.open();
      expect(await a.count()).toBe(2);
      expect(await b.isAlive(a.replicaId)).toBe(true);
      const gen = sweep.generation;
      expect(await sweep.tryLock(7)).toBe(true);

      await pg.crash();
      const err = await ds.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPgUnavailable(err)).toBe(true);
      // With its own session down, b cannot tell: a counts as alive, so nobody takes a's work.
      expect(await b.isAlive('some-replica-that-is-gone')).toBe(true);
      await expect(sweep.tryLock(7)).rejects.toMatchObject({ code: 'UNAVAILABLE' });

      await pg.restart();
      await eventually(async () => ((await a.count()) === 2 ? true : undefined), 15_000, 'both locks back');
      // Back, but not yet settled: other replicas still get the benefit of the doubt.
      expect(await b.isAlive('some-replica-that-is-gone')).toBe(true);
      expect(sweep.generation).toBeGreaterThan(gen);
      // A short lock does not come back by itself; its old generation's unlock is a no-op.
      await sweep.unlock(7, gen);
      expect(await sweep.tryLock(7)).toBe(true);
      await sweep.unlock(7, sweep.generation);
      // Once settled, a replica whose lock is free is dead again, and a live one is alive.
      await eventually(
        async () => ((await b.isAlive('some-replica-that-is-gone')) ? undefined : true),
        15_000,
        'settled',
      );
      expect(await b.isAlive(a.replicaId)).toBe(true);
    } finally {
      await sweep.close();
      await a.release();
      await b.release();
      await other.destroy().catch(() => undefined);
    }
  }, 90_000);

  it('says a refused connection is unavailable', async () => {
    await pg.crash();
    try {
      const err = await ds.query('SELECT 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPgUnavailable(err)).toBe(true);
      expect(isPgUnavailable(new Error('relation "x" does not exist'))).toBe(false);
    } finally {
      await pg.restart();
    }
  }, 60_000);
});
