import type {
  BeforeApplicationShutdown,
  LoggerService,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { withTimeout } from '../common/with-timeout';
import { ReplicaLiveness } from './replica-liveness';

/** Work that records the replica running it, so that another replica can take it over. */
export interface ClaimedWork {
  id: string;
  claimedBy: string | null;
}

export interface ResumableRunnerOptions {
  /** Advisory-lock namespace of this kind of work (one per service). */
  lockNamespace: number;
  /** How often unfinished work of dead replicas is looked for (also once at start-up). */
  recoveryIntervalMs: number;
  /** How long shutdown waits for work in flight before leaving it to another replica. */
  graceMs: number;
}

/**
 * Runs long work in the background and takes over the work that crashed replicas left (see
 * ReplicaLiveness): at start-up and every `recoveryIntervalMs`, unfinished items whose replica's lock
 * is free are claimed and run again with `resumed = true`. On shutdown (before the NATS client and the
 * database close) work in flight may finish within `graceMs`; past it, `abandon()` is called and the
 * work is left for another replica or the next start. Subclasses say what is unfinished, how to claim
 * it, and how to run it; `run` must settle its own failures.
 */
export abstract class ResumableRunner<T extends ClaimedWork>
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly liveness: ReplicaLiveness;
  private readonly running = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private recovering = false;
  protected closing = false;

  protected constructor(
    ds: DataSource,
    private readonly options: ResumableRunnerOptions,
    protected readonly logger: LoggerService,
  ) {
    this.liveness = new ReplicaLiveness(ds, options.lockNamespace);
  }

  /** Unfinished work, whoever claimed it. */
  protected abstract unfinished(): Promise<T[]>;
  /** Compare-and-set of `claimedBy` from the item's current claimer to this replica. */
  protected abstract claim(item: T): Promise<boolean>;
  protected abstract run(item: T, resumed: boolean): Promise<void>;
  /** Past the shutdown grace: work still running must write nothing more. */
  protected abandon(): void {}

  get replicaId(): string {
    return this.liveness.replicaId;
  }

  isAlive(replicaId: string): Promise<boolean> {
    return this.liveness.isAlive(replicaId);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.liveness.hold();
    void this.recover();
    this.timer = setInterval(() => void this.recover(), this.options.recoveryIntervalMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await withTimeout(this.idle(), this.options.graceMs, () => new Error('work still running')).catch(
      (err: Error) => {
        this.abandon();
        this.logger.warn({
          msg: 'leaving work in flight; another replica or the next start resumes it',
          error: err.message,
          ids: [...this.running.keys()],
        });
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.liveness.release();
  }

  /** Runs an item this replica holds, in the background (once). */
  start(item: T, resumed = false): void {
    if (this.running.has(item.id)) return;
    const work = this.run(item, resumed).finally(() => this.running.delete(item.id));
    this.running.set(item.id, work);
  }

  /** The item's run, if it runs here. */
  runningNow(id: string): Promise<void> | undefined {
    return this.running.get(id);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Takes over every unfinished item whose replica is gone. */
  async recover(): Promise<void> {
    if (this.recovering || this.closing) return;
    this.recovering = true;
    try {
      const orphans = (await this.unfinished()).filter((item) => !this.running.has(item.id));
      for (const item of await this.liveness.adopt(orphans, (i) => this.claim(i))) {
        this.logger.warn({ msg: 'resuming work its replica left unfinished', id: item.id });
        this.start(item, true);
      }
    } catch (err) {
      this.logger.error({ msg: 'recovery pass failed', error: (err as Error).message });
    } finally {
      this.recovering = false;
    }
  }
}
