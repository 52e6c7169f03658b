import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AdvisorySession } from './advisory-session';

/**
 * After a Postgres restart every replica has lost its lock until its session is back (within about
 * 2 s, see AdvisorySession): for this long after our own session came back, other replicas' work is
 * not taken over, so a replica that reconnects a moment later than us is not mistaken for a dead one.
 */
const SETTLE_MS = 5000;

/**
 * "Is the replica that claimed this work still alive?", answered by Postgres.
 *
 * Each replica holds a session advisory lock on its own id (in `namespace`, one per service) for as
 * long as it lives. When a replica dies, Postgres drops its connection and with it the lock, so a
 * `pg_try_advisory_xact_lock` on a dead replica's id succeeds at once: no leases, no clocks. Work that
 * records the replica running it can therefore be taken over the moment its runner is gone.
 * The lock lives on an AdvisorySession, which takes it again after Postgres restarts.
 */
export class ReplicaLiveness {
  readonly replicaId = randomUUID();
  private readonly session: AdvisorySession;

  constructor(
    private readonly ds: DataSource,
    private readonly namespace: number,
    name = `replica-${namespace}`,
  ) {
    this.session = new AdvisorySession(ds, name);
  }

  /** Takes this replica's own lock, and keeps it across Postgres restarts; call once at start-up. */
  async hold(): Promise<void> {
    await this.session.holdForever([this.namespace, this.replicaId]);
  }

  /** Lets go of the lock (and its connection); call last at shutdown. */
  async release(): Promise<void> {
    await this.session.close();
  }

  /**
   * Whether this replica may judge others now: its own lock is held, and, when its session came back
   * after a loss (a Postgres restart), has been for SETTLE_MS.
   */
  private settled(): boolean {
    const since = this.session.upSince;
    if (since === 0) return false;
    return this.session.generation <= 1 || Date.now() - since >= SETTLE_MS;
  }

  /** Unsure (our own session is down or just came back) counts as alive: work is never run twice. */
  async isAlive(replicaId: string): Promise<boolean> {
    if (replicaId === this.replicaId || !this.settled()) return true;
    return this.ds.transaction(async (em) => {
      const [row] = (await em.query('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS free', [
        this.namespace,
        replicaId,
      ])) as { free: boolean }[];
      return !row!.free;
    });
  }

  /** How many replicas of this service hold their lock now (this one included, once it holds). */
  async count(): Promise<number> {
    const [row] = (await this.ds.query(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = $1 AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [this.namespace],
    )) as { n: number }[];
    return Math.max(1, row!.n);
  }

  /**
   * The items (jobs, operations) whose replica is gone, each claimed for this replica. `claim` must be
   * a compare-and-set on the item's `claimedBy`, so two replicas never adopt the same item.
   */
  async adopt<T extends { claimedBy: string | null }>(
    items: T[],
    claim: (item: T) => Promise<boolean>,
  ): Promise<T[]> {
    const adopted: T[] = [];
    for (const item of items) {
      if (item.claimedBy === this.replicaId) continue;
      if (item.claimedBy && (await this.isAlive(item.claimedBy))) continue;
      if (await claim(item)) adopted.push({ ...item, claimedBy: this.replicaId });
    }
    return adopted;
  }
}
