import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { MigrationStageName, MigrationStatus, VcenterCredentials } from '@ferry/contracts';
import { FerryError, MIGRATION_STAGES, errorOf } from '@ferry/contracts';
import { ResumableRunner, runWithContext } from '@ferry/platform';
import { DataSource } from 'typeorm';
import { CleanupConfig } from '../config/cleanup.config';
import { FailoverService } from '../failover/failover.service';
import { Peers } from '../saga/peers';
import type { CompensationScope } from './compensate';
import { compensate } from './compensate';
import { MigrationCipher } from './migration-cipher';
import { MigrationLost, MigrationStore } from './migration-store';
import type { MigrationChange, MigrationRecord } from './migrations.repository';
import { MigrationsRepository } from './migrations.repository';
import { SourcePeers } from './source-peers';
import { runConvert } from './stages/convert.stage';
import { runCutover } from './stages/cutover.stage';
import { runFetch, runFlatten } from './stages/fetch.stage';
import { runFix } from './stages/fix.stage';
import { runInspect } from './stages/inspect.stage';
import { runPlan } from './stages/plan.stage';
import type { StageHandler, StageOutcome, StageRun } from './stages/stage';
import { runValidate } from './stages/validate.stage';

/** Namespace of the migration runners' replica locks ("mig"). */
const REPLICA_LOCK_NAMESPACE = 0x6d6967;
/** How often a running migration looks whether a cancel was asked for. */
const CANCEL_POLL_MS = 500;
/** A stage's bytes are announced at most this often. */
const PROGRESS_INTERVAL_MS = 1000;

/** The runner is stopping, or gave the migration back (awaiting a manual cutover). */
class Stopping extends Error {}

/**
 * Runs migrations as one resumable saga over seed 001's stages, in their order, then the cutover.
 * Each stage is recorded `running` (with its attempt) before it starts and `done`/`skipped`/`failed`
 * after; each reads reality before it acts, so a migration resumed on another replica (or after a
 * restart) goes on from its first stage not done and repeats no side effect. Authority stays where
 * it is: vSphere through the inspector, bytes through volume-daemon, QEMU through vm-operator,
 * placement through host-capability, the test boot through this service's own failover jobs.
 */
@Injectable()
export class MigrationRunner extends ResumableRunner<MigrationRecord> {
  private readonly shutdown = new AbortController();
  private readonly handlers: Record<MigrationStageName, StageHandler>;

  constructor(
    ds: DataSource,
    private readonly migrations: MigrationsRepository,
    private readonly store: MigrationStore,
    private readonly peers: Peers,
    private readonly source: SourcePeers,
    private readonly failover: FailoverService,
    private readonly cipher: MigrationCipher,
    private readonly config: CleanupConfig,
  ) {
    super(
      ds,
      {
        lockNamespace: REPLICA_LOCK_NAMESPACE,
        recoveryIntervalMs: config.CLEANUP_RECOVERY_INTERVAL_MS,
        graceMs: config.SHUTDOWN_GRACE_MS,
      },
      new Logger(MigrationRunner.name),
    );
    const appliance = async () => {
      const vm = await this.peers.vmByName(config.CLEANUP_APPLIANCE_VM);
      if (!vm)
        throw new FerryError(
          'UNAVAILABLE',
          `the appliance VM "${config.CLEANUP_APPLIANCE_VM}" does not exist`,
        );
      return { id: vm.id, name: vm.name };
    };
    this.handlers = {
      fetch: (run) => runFetch(run, peers, source),
      flatten: (run) => runFlatten(run, peers, source),
      inspect: (run) => runInspect(run, source),
      plan: (run) => runPlan(run, peers, source),
      fix: (run) => runFix(run, peers, source),
      convert: (run) => runConvert(run, peers, async () => (await appliance()).id),
      validate: (run) => runValidate(run, peers, failover),
      cutover: (run) => runCutover(run, peers, source, appliance),
    };
  }

  protected unfinished(): Promise<MigrationRecord[]> {
    return this.migrations.unfinished();
  }

  protected claim(m: MigrationRecord): Promise<boolean> {
    return this.migrations.claim(m.id, m.claimedBy, this.replicaId);
  }

  // Past the grace, children and waits stop; another replica or the next start goes on.
  protected override abandon(): void {
    this.shutdown.abort(new Stopping('shutting down'));
  }

  protected async run(m: MigrationRecord): Promise<void> {
    await runWithContext({ correlationId: m.correlationId ?? m.id }, () => this.execute(m.id)).catch(
      (err: unknown) => {
        if (err instanceof Stopping || err instanceof MigrationLost) return;
        this.logger.error({
          msg: 'migration runner crashed',
          migrationId: m.id,
          error: (err as Error).message,
        });
      },
    );
  }

  private async execute(id: string): Promise<void> {
    const cancel = new AbortController();
    const watcher = setInterval(() => {
      void this.migrations.cancelRequested(id).then(
        (asked) => asked && cancel.abort(new Stopping('cancel requested')),
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    const signal = AbortSignal.any([this.shutdown.signal, cancel.signal]);
    try {
      let m = (await this.migrations.findById(id))!;
      if (m.status === 'canceling' || m.cancelRequested) return await this.cancel(m);
      if (m.status === 'pending') m = await this.setStatus(m, 'running', 'migration started');
      for (const name of MIGRATION_STAGES) {
        m = (await this.migrations.findById(id))!;
        const stage = m.stages.find((s) => s.name === name)!;
        if (stage.state === 'done' || stage.state === 'skipped') continue;
        if (this.closing) throw new Stopping('shutting down');
        if (m.cancelRequested) return await this.cancel(m);
        if (name === 'cutover' && m.cutover === 'manual' && !m.cutoverRequestedAt) {
          await this.store.change(
            id,
            this.replicaId,
            { status: 'awaiting_cutover', claimedBy: null },
            'validated; waiting for the cutover',
          );
          return;
        }
        const outcome = await this.runStage(m, name, signal);
        if (outcome.stop) return await this.stop(id, outcome.stop);
      }
      await this.store.change(
        id,
        this.replicaId,
        { status: 'completed', claimedBy: null, finishedAt: new Date(), credentials: null, error: null },
        'cut over: the VM runs on KVM',
      );
    } catch (err) {
      if (err instanceof MigrationLost || this.shutdown.signal.aborted) throw err;
      const m = (await this.migrations.findById(id))!;
      if (cancel.signal.aborted || m.cancelRequested) return await this.cancel(m);
      if (err instanceof Stopping) throw err;
      await this.fail(m, err);
    } finally {
      clearInterval(watcher);
    }
  }

  private async runStage(
    m: MigrationRecord,
    name: MigrationStageName,
    signal: AbortSignal,
  ): Promise<StageOutcome> {
    const me = this.replicaId;
    let current = await this.store.stage(m.id, me, name, (s) => ({
      state: 'running',
      started_at: new Date().toISOString(),
      finished_at: null,
      error: null,
      progress: null,
      attempts: s.attempts + 1,
    }));
    let lastProgress = 0;
    const run: StageRun = {
      m: current,
      signal,
      update: async (change: MigrationChange) => {
        current = await this.store.change(m.id, me, change, `stage ${name}`);
        run.m = current;
        return current;
      },
      progress: (p) => {
        if (Date.now() - lastProgress < PROGRESS_INTERVAL_MS && p.bytes_done !== p.bytes_total) return;
        lastProgress = Date.now();
        void this.store.progress(m.id, me, name, p).catch(() => undefined);
      },
      credentials: () => this.credentials(run.m),
      // Released by a cancel, a failpoint inside a stage goes no further.
      failpoint: async (point) => {
        await this.failpoint(m.id, point);
        if (await this.migrations.cancelRequested(m.id)) throw new Stopping('cancel requested');
      },
    };
    let outcome: StageOutcome;
    try {
      outcome = await this.handlers[name](run);
    } catch (err) {
      if (err instanceof MigrationLost || err instanceof Stopping || signal.aborted) throw err;
      await this.store.stage(m.id, me, name, {
        state: 'failed',
        finished_at: new Date().toISOString(),
        error: errorOf(err).message,
      });
      throw err;
    }
    await this.store.stage(
      m.id,
      me,
      name,
      {
        state: outcome.skipped ? 'skipped' : 'done',
        finished_at: new Date().toISOString(),
        detail: outcome.detail,
      },
      outcome.change ?? {},
    );
    await this.failpoint(m.id, name);
    return outcome;
  }

  /** `mode: plan` done, or the plan found blockers: the copies go, the other stages are skipped. */
  private async stop(id: string, how: 'planned' | 'blocked'): Promise<void> {
    const m = await this.skipRest(id, 'skipped');
    const undone = await this.compensate(m, 'copies');
    const blockers = m.plan?.blockers ?? [];
    const error =
      how === 'blocked'
        ? {
            code: 'UNPROCESSABLE',
            message: `blocked: ${blockers.map((b) => `${b.code}: ${b.message}`).join('; ')}${undone.error ?? ''}`,
            stage: 'plan' as const,
          }
        : null;
    await this.store.change(
      id,
      this.replicaId,
      { status: how, error, claimedBy: null, finishedAt: new Date(), credentials: null },
      how === 'planned'
        ? `planned; ${undone.done.join('; ') || 'nothing to remove'}`
        : 'the plan has blockers',
    );
  }

  private async fail(m: MigrationRecord, err: unknown): Promise<void> {
    const failure = errorOf(err);
    const stage = m.stages.find((s) => s.state === 'failed' || s.state === 'running')?.name ?? null;
    this.logger.warn({ msg: 'migration failed', migrationId: m.id, stage, error: failure.message });
    const undone = await this.compensate(m, 'failure');
    await this.store.change(
      m.id,
      this.replicaId,
      {
        status: 'failed',
        error: { code: failure.code, message: `${failure.message}${undone.error ?? ''}`, stage },
        claimedBy: null,
        finishedAt: new Date(),
      },
      failure.message,
    );
  }

  /** DELETE: everything put back; the stages that did not finish say `canceled`. */
  private async cancel(m: MigrationRecord): Promise<void> {
    if (m.status !== 'canceling') m = await this.setStatus(m, 'canceling', 'cancel requested');
    m = await this.skipRest(m.id, 'canceled');
    const undone = await this.compensate(m, 'cancel');
    if (undone.error) {
      // Left for the recovery pass to try again (every step of it reads reality first).
      await this.store.change(
        m.id,
        this.replicaId,
        { error: { code: 'UNAVAILABLE', message: `canceling${undone.error}`, stage: null }, claimedBy: null },
        'cancel incomplete',
      );
      return;
    }
    await this.store.change(
      m.id,
      this.replicaId,
      { status: 'canceled', claimedBy: null, finishedAt: new Date(), credentials: null, error: null },
      `canceled; ${undone.done.join('; ') || 'nothing to undo'}`,
    );
  }

  private async compensate(
    m: MigrationRecord,
    scope: CompensationScope,
  ): Promise<{ done: string[]; error?: string }> {
    try {
      const done = await compensate(m, scope, {
        peers: this.peers,
        source: this.source,
        failover: this.failover,
        credentials: () => (m.credentials ? this.credentials(m) : null),
      });
      return { done };
    } catch (err) {
      const message = errorOf(err).message;
      this.logger.error({ msg: 'could not put everything back', migrationId: m.id, scope, error: message });
      return { done: [], error: ` (and not everything could be put back: ${message})` };
    }
  }

  /** The stages not done are marked `state` (skipped after a stop, canceled after a cancel). */
  private async skipRest(id: string, state: 'skipped' | 'canceled'): Promise<MigrationRecord> {
    const m = (await this.migrations.findById(id))!;
    const stages = m.stages.map((s) =>
      s.state === 'pending' || s.state === 'running'
        ? { ...s, state, finished_at: s.state === 'running' ? new Date().toISOString() : s.finished_at }
        : s,
    );
    return this.store.change(id, this.replicaId, { stages }, `remaining stages ${state}`);
  }

  private setStatus(m: MigrationRecord, status: MigrationStatus, reason: string): Promise<MigrationRecord> {
    return this.store.change(m.id, this.replicaId, { status }, reason);
  }

  private credentials(m: MigrationRecord): VcenterCredentials {
    if (!m.credentials)
      throw new FerryError('UNAVAILABLE', `migration ${m.id} no longer holds the vCenter credentials`);
    try {
      return { url: m.vcenterUrl, ...this.cipher.decrypt(m.credentials, m.id) };
    } catch {
      throw new FerryError(
        'UNAVAILABLE',
        `the vCenter credentials of migration ${m.id} cannot be read: they were encrypted with another key (set CLEANUP_CREDENTIALS_KEY the same on every replica)`,
      );
    }
  }

  /**
   * CLEANUP_MIGRATION_PAUSE_AFTER_STAGE (tests only): stop dead after this stage (or at this point of
   * one, `cutover:power-off`) until the process is killed or the migration canceled.
   */
  private async failpoint(id: string, point: string): Promise<void> {
    if (this.config.CLEANUP_MIGRATION_PAUSE_AFTER_STAGE !== point) return;
    this.logger.warn({ msg: 'paused at failpoint', migrationId: id, point });
    while (!(await this.migrations.cancelRequested(id).catch(() => false))) await sleep(200);
  }
}
