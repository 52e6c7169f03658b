import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ObserverIssues1732234400000 implements MigrationInterface {
  name = 'ObserverIssues1732234400000';

  async up(q: QueryRunner): Promise<void> {
    // A finding is `pending` until OBSERVER_HYSTERESIS consecutive sweeps have seen it, then `open`,
    // then `resolved` once reality and the records agree again. Pending rows are not shown.
    await q.query(`
      CREATE TABLE observer.issues (
        id uuid PRIMARY KEY,
        key text NOT NULL,
        kind text NOT NULL,
        subject_type text NOT NULL,
        subject text NOT NULL,
        status text NOT NULL,
        expected text NOT NULL,
        observed text NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen timestamptz NOT NULL,
        count integer NOT NULL,
        opened_at timestamptz,
        resolved_at timestamptz,
        repair jsonb,
        CONSTRAINT issues_status_check CHECK (status IN ('pending','open','resolved'))
      )`);
    await q.query(
      "CREATE UNIQUE INDEX issues_one_active_per_key ON observer.issues (key) WHERE status IN ('pending','open')",
    );
    await q.query('CREATE INDEX issues_status_kind ON observer.issues (status, kind, opened_at DESC)');
    // The last sweep, whichever replica ran it (one row).
    await q.query(`
      CREATE TABLE observer.sweep_state (
        id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        finished_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        cpu_ms integer NOT NULL,
        checked jsonb NOT NULL,
        skipped integer NOT NULL,
        errors jsonb NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE observer.sweep_state');
    await q.query('DROP TABLE observer.issues');
  }
}
