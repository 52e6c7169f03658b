import type {
  BeforeApplicationShutdown,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import type { CoherenceStatusDto, SweepPhases } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { AdvisorySession } from '@ferry/platform';
import { DataSource } from 'typeorm';
import { ObserverConfig } from '../config/observer.config';
import { IssueBook } from '../issues/issue-book';
import { IssuesRepository } from '../issues/issues.repository';
import { SweepStateRepository } from '../issues/sweep-state.repository';
import { findingKey } from './finding';
import { Gatherer } from './gather';
import { judge } from './judge';
import { Repairs } from './repairs';

/** The advisory lock that makes one replica sweep at a time (issues and hysteresis are shared). */
const SWEEP_LOCK = 0x6f6273;

/**
 * Sweeps every OBSERVER_SWEEP_INTERVAL_MS (start to start; never two at once): gather, judge, book
 * the issues, act on the ones that just opened. Across replicas one sweeps at a time; the others skip
 * that tick.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(Sweeper.name);
  private timer?: NodeJS.Timeout;
  private readonly locks: AdvisorySession;
  private current?: Promise<void>;
  private closing = false;

  constructor(
    private readonly ds: DataSource,
    private readonly gatherer: Gatherer,
    private readonly book: IssueBook,
    private readonly repairs: Repairs,
    private readonly issues: IssuesRepository,
    private readonly state: SweepStateRepository,
    private readonly config: ObserverConfig,
  ) {
    this.locks = new AdvisorySession(ds, 'observer-sweep');
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.locks.open();
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.locks.close();
  }

  /** A sweep now (waits for one in flight here or on another replica, up to 10 s), then the status. */
  async sweepNow(): Promise<CoherenceStatusDto> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      await this.current?.catch(() => undefined);
      if (await this.trySweep()) return this.status();
      if (Date.now() > deadline)
        throw new FerryError('UNAVAILABLE', 'another replica is sweeping; try again', {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async status(): Promise<CoherenceStatusDto> {
    const interval = this.config.OBSERVER_SWEEP_INTERVAL_MS;
    const [last, openByKind] = await Promise.all([this.state.get(), this.issues.openByKind()]);
    const recent = !!last && Date.now() - last.finished_at.getTime() <= 2 * interval;
    return {
      last_sweep_at: last?.finished_at.toISOString() ?? null,
      last_duration_ms: last?.duration_ms ?? null,
      last_cpu_ms: last?.cpu_ms ?? null,
      interval_ms: interval,
      keeping_up: recent && last.duration_ms <= interval,
      skipped: last?.skipped ?? 0,
      checked: last?.checked ?? { vms: 0, disks: 0 },
      errors: last?.errors ?? [],
      open_by_kind: openByKind,
      phases_ms: last?.phases_ms ?? {},
      recent_sweeps: last?.recent ?? [],
    };
  }

  private schedule(delayMs: number): void {
    if (this.closing) return;
    // OBSERVER_PERIODIC_SWEEPS=false (tests): the boot sweep (the first timer) and then only sweeps on demand.
    if (this.timer && !this.config.OBSERVER_PERIODIC_SWEEPS) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      // A sweep that cannot start (Postgres is down) is logged; the next tick tries again.
      void this.trySweep()
        .catch((err: Error) => this.logger.warn({ msg: 'sweep skipped', error: err.message }))
        .finally(() =>
          this.schedule(Math.max(0, started + this.config.OBSERVER_SWEEP_INTERVAL_MS - Date.now())),
        );
    }, delayMs);
    this.timer.unref();
  }

  /**
   * One sweep if no other is running anywhere; false when another replica holds the lock. Rejects
   * with UNAVAILABLE while Postgres is down (the lock's session reconnects by itself).
   */
  private async trySweep(): Promise<boolean> {
    if (this.current) return false;
    const generation = this.locks.generation;
    if (!(await this.locks.tryLock(SWEEP_LOCK))) return false;
    this.current = this.sweep()
      .catch((err: Error) => this.logger.error({ msg: 'sweep failed', error: err.message }, err.stack))
      .finally(() => {
        this.current = undefined;
      });
    try {
      await this.current;
    } finally {
      await this.locks.unlock(SWEEP_LOCK, generation);
    }
    return true;
  }

  private async sweep(): Promise<void> {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const errors: string[] = [];
    const phases: SweepPhases = {};
    let mark = started;
    const lap = (phase: keyof SweepPhases) => {
      const now = performance.now();
      phases[phase] = Math.round(now - mark);
      mark = now;
    };
    const observation = await this.gatherer.observe(errors, () => lap('records'));
    lap('probes');
    const judgement = judge(observation);
    lap('judge');
    const booked = await this.book.record(judgement, this.config.OBSERVER_HYSTERESIS);
    lap('book');
    const findings = new Map(judgement.findings.map((f) => [findingKey(f), f]));
    for (const issue of booked.opened) {
      this.logger.warn({
        msg: 'coherence issue opened',
        kind: issue.kind,
        subject: issue.subject,
        observed: issue.observed,
      });
      const repair = await this.repairs.act(issue, findings.get(issue.key)!);
      if (repair) await this.book.repaired(issue.id, repair);
    }
    for (const issue of booked.resolved)
      this.logger.log({ msg: 'coherence issue resolved', kind: issue.kind, subject: issue.subject });
    lap('repairs');
    const used = process.cpuUsage(cpu);
    await this.state.save({
      finished_at: new Date(),
      duration_ms: Math.round(performance.now() - started),
      cpu_ms: Math.round((used.user + used.system) / 1000),
      checked: { vms: observation.vms?.length ?? 0, disks: observation.disks?.length ?? 0 },
      skipped: judgement.skipped.size,
      errors,
      phases_ms: phases,
    });
  }
}
