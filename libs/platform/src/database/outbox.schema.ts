import type { QueryRunner } from 'typeorm';

/**
 * The first migration of every service calls this: it creates the service's schema and its outbox.
 * `seq` orders publication; `id` is the CloudEvent id and the JetStream Nats-Msg-Id.
 */
export async function createSchemaWithOutbox(runner: QueryRunner, schema: string): Promise<void> {
  await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await runner.query(`
    CREATE TABLE "${schema}".outbox (
      seq          bigserial PRIMARY KEY,
      id           uuid NOT NULL UNIQUE,
      type         text NOT NULL,
      nats_subject text NOT NULL,
      payload      jsonb NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz
    )`);
  await runner.query(`CREATE INDEX outbox_pending ON "${schema}".outbox (seq) WHERE published_at IS NULL`);
}

export async function dropSchemaWithOutbox(runner: QueryRunner, schema: string): Promise<void> {
  await runner.query(`DROP TABLE IF EXISTS "${schema}".outbox`);
}
