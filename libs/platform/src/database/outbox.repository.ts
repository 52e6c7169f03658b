import type { CloudEvent } from '@ferry/contracts';
import { eventSubjectOf } from '@ferry/contracts';
import type { DataSource, EntityManager } from 'typeorm';

export interface OutboxRow {
  seq: string;
  id: string;
  nats_subject: string;
  payload: CloudEvent;
}

/** The only code that reads or writes `<schema>.outbox`. */
export class OutboxRepository {
  private readonly table: string;

  constructor(schema: string) {
    this.table = `"${schema}".outbox`;
  }

  /** Must be called with the EntityManager of the transaction that makes the change the event reports. */
  async add(em: EntityManager, event: CloudEvent): Promise<void> {
    await em.query(`INSERT INTO ${this.table} (id, type, nats_subject, payload) VALUES ($1, $2, $3, $4)`, [
      event.id,
      event.type,
      eventSubjectOf(event.type),
      JSON.stringify(event),
    ]);
  }

  /** Like add(), for many events in one statement (a queue that changes thousands of rows at once). */
  async addMany(em: EntityManager, events: CloudEvent[]): Promise<void> {
    if (events.length === 0) return;
    await em.query(
      `INSERT INTO ${this.table} (id, type, nats_subject, payload)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => eventSubjectOf(e.type)),
        events.map((e) => JSON.stringify(e)),
      ],
    );
  }

  /** Locks up to `limit` unpublished rows; rows another relay holds are skipped, not waited for. */
  async claimPending(em: EntityManager, limit: number): Promise<OutboxRow[]> {
    return em.query(
      `SELECT seq, id, nats_subject, payload FROM ${this.table}
        WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  async markPublished(em: EntityManager, seqs: string[]): Promise<void> {
    await em.query(`UPDATE ${this.table} SET published_at = now() WHERE seq = ANY($1::bigint[])`, [seqs]);
  }

  async deletePublishedBefore(ds: DataSource, cutoff: Date): Promise<void> {
    await ds.query(`DELETE FROM ${this.table} WHERE published_at < $1`, [cutoff]);
  }

  async countPending(ds: DataSource): Promise<number> {
    const [row] = await ds.query(`SELECT count(*)::int AS n FROM ${this.table} WHERE published_at IS NULL`);
    return (row as { n: number }).n;
  }
}
