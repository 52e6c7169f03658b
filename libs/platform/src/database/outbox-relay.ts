import { Logger } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { DataSource } from 'typeorm';
import { ensureEventsStream } from '../nats/jetstream';
import type { OutboxRepository, OutboxRow } from './outbox.repository';

const BATCH = 256;
const PUBLISH_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 5000;
const RETENTION_MS = 24 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 1000;

export interface OutboxRelayOptions {
  pollMs: number;
  streamReplicas: number;
  /**
   * Under a stream of commits, wait this long before the next batch so that it carries more events:
   * one relay transaction (and fsync) per batch instead of per commit. The first commit after a quiet
   * spell is still published at once. 0 publishes every commit's batch at once.
   */
  lingerMs?: number;
  /** Test seam: runs after the PubAcks and before the rows are marked sent (where a crash would hurt). */
  afterPublish?: (rows: OutboxRow[]) => void;
}

/**
 * Publishes committed outbox rows to FERRY_EVENTS. A row is marked sent only after JetStream acked it,
 * inside the same transaction that locked it, so a crash anywhere means "publish again", and the
 * stream's duplicate window (Nats-Msg-Id = event id) turns that into exactly one stored event.
 * A commit wakes the relay at once through kick(); polling covers rows left by other processes.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;
  private kicked = false;
  private lastPrune = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly nc: NatsConnection,
    private readonly outbox: OutboxRepository,
    private readonly options: OutboxRelayOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Something was committed: publish now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  /** Publishes one batch; returns how many rows it sent. Exposed for tests and for drain-on-demand. */
  async publishBatch(): Promise<number> {
    const js = this.nc.jetstream();
    return this.ds.transaction(async (em) => {
      const rows = await this.outbox.claimPending(em, BATCH);
      if (rows.length === 0) return 0;
      // Sent in order on one connection, acked in parallel: JetStream stores them in that order.
      await Promise.all(
        rows.map((row) =>
          js.publish(row.nats_subject, JSON.stringify(row.payload), {
            msgID: row.id,
            timeout: PUBLISH_TIMEOUT_MS,
          }),
        ),
      );
      this.options.afterPublish?.(rows);
      await this.outbox.markPublished(
        em,
        rows.map((r) => r.seq),
      );
      return rows.length;
    });
  }

  private async loop(): Promise<void> {
    let backoff = 100;
    let streamReady = false;
    while (!this.stopping) {
      try {
        if (!streamReady) {
          await ensureEventsStream(this.nc, this.options.streamReplicas);
          streamReady = true;
        }
        this.kicked = false;
        const sent = await this.publishBatch();
        backoff = 100;
        await this.prune();
        if (sent === BATCH) continue;
        if (this.kicked) {
          if (sent > 0 && this.options.lingerMs)
            await new Promise((r) => setTimeout(r, this.options.lingerMs));
          continue;
        }
        await this.sleep(this.options.pollMs);
      } catch (err) {
        if (this.stopping) break;
        this.logger.warn({
          msg: 'outbox publish failed; will retry',
          error: (err as Error).message,
          backoffMs: backoff,
        });
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.outbox.deletePublishedBefore(this.ds, new Date(now - RETENTION_MS));
  }

  private sleep(ms: number): Promise<void> {
    if (this.kicked || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
