import type { MixedList } from 'typeorm';
import { DataSource } from 'typeorm';

/** What a service declares about its schema; the platform builds the DataSource from it. */
export interface ServiceDatabase {
  /** The Postgres schema the service owns, e.g. `vm_operator`. */
  schema: string;
  // TypeORM's own types: entity classes and migration classes of this schema only.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function>;
}

export interface DataSourceSettings {
  url: string;
  poolSize: number;
  applicationName: string;
}

/** One DataSource per service schema, never synchronised: the schema changes only by migrations. */
export function createServiceDataSource(db: ServiceDatabase, settings: DataSourceSettings): DataSource {
  return new DataSource({
    type: 'postgres',
    url: settings.url,
    schema: db.schema,
    entities: db.entities,
    migrations: db.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: settings.poolSize,
      application_name: settings.applicationName,
      connectionTimeoutMillis: 5000,
      // A statement that runs this long is a bug or a lock pile-up; fail it rather than hang a request.
      statement_timeout: 30_000,
    },
  });
}

/**
 * Runs pending migrations of one schema. Replicas starting together serialise on an advisory lock, and
 * the schema is created first because TypeORM keeps its migrations table inside it.
 */
export async function runMigrations(ds: DataSource, schema: string): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`ferry.migrate.${schema}`]);
    await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`ferry.migrate.${schema}`])
      .catch(() => undefined);
    await runner.release();
  }
}
