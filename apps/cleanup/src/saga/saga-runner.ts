import { Injectable, Logger } from '@nestjs/common';
import type { FailoverErrorDto } from '@ferry/contracts';
import { errorOf } from '@ferry/contracts';
import { ResumableRunner, runWithContext } from '@ferry/platform';
import { DataSource } from 'typeorm';
import { CleanupConfig } from '../config/cleanup.config';
import { JobLost, JobStore } from '../jobs/job-store';
import type { JobRecord } from '../jobs/jobs.repository';
import { JobsRepository } from '../jobs/jobs.repository';
import { attentionReport } from './attention';
import { planSteps } from './plan';
import { StepHandlers } from './steps';

/** Namespace of cleanup's replica advisory locks. */
const REPLICA_LOCK_NAMESPACE = 0x636c6e;

/** The runner is stopping: the job is left as it is, for the next replica or start to resume. */
class Stopping extends Error {}

/**
 * Runs failover jobs as a saga: each step is recorded as running before it starts and as done (or
 * failed) after, each step is idempotent, and a job whose replica died is resumed by another replica
 * or the next start (see ReplicaLiveness), from its first step not done.
 *
 * Failover: create-test-vm → move-volume (each) → start-test-vm → `test_active`. Any failure switches
 * the job to its cleanup phase, which puts everything back, and ends it `failed`.
 * Cleanup: validate → power → return-volume (each) → verify-appliance → delete → `cleanup_completed`.
 * A failure there ends it `cleanup_failed` with a report of where each volume is; resume goes on.
 */
@Injectable()
export class SagaRunner extends ResumableRunner<JobRecord> {
  constructor(
    ds: DataSource,
    private readonly jobs: JobsRepository,
    private readonly store: JobStore,
    private readonly handlers: StepHandlers,
    private readonly config: CleanupConfig,
  ) {
    super(
      ds,
      {
        lockNamespace: REPLICA_LOCK_NAMESPACE,
        recoveryIntervalMs: config.CLEANUP_RECOVERY_INTERVAL_MS,
        graceMs: config.SHUTDOWN_GRACE_MS,
      },
      new Logger(SagaRunner.name),
    );
  }

  protected unfinished(): Promise<JobRecord[]> {
    return this.jobs.unfinished();
  }

  protected claim(job: JobRecord): Promise<boolean> {
    return this.jobs.claim(job.id, job.claimedBy, this.replicaId);
  }

  // No step starts once the runner is closing; the job is left for another replica or the next start.
  protected async run(job: JobRecord): Promise<void> {
    await runWithContext({ correlationId: job.correlationId ?? job.id }, () => this.execute(job.id)).catch(
      (err: unknown) => {
        if (err instanceof Stopping || err instanceof JobLost) return;
        this.logger.error({ msg: 'job runner crashed', jobId: job.id, error: (err as Error).message });
      },
    );
  }

  private async execute(id: string): Promise<void> {
    const me = this.replicaId;
    let job = (await this.jobs.findById(id))!;
    if (job.status === 'pending')
      job = await this.store.change(id, me, { status: 'running' }, 'failover started');

    if (job.phase === 'failover') {
      const failure = await this.runPhase(job);
      if (!failure) {
        await this.store.change(id, me, { status: 'test_active', claimedBy: null }, 'test VM is running');
        return;
      }
      // Put everything back: the failover's cleanup is the cleanup phase itself.
      job = (await this.jobs.findById(id))!;
      job = await this.store.change(
        id,
        me,
        {
          status: 'cleanup_running',
          phase: 'cleanup',
          failoverError: failure,
          deleteVm: true, // a rollback removes the test VM it made, whatever CLEANUP_DELETE_VM says
          steps: [...job.steps, ...planSteps('cleanup', job.volumes)],
        },
        `failover failed, rolling back: ${failure.message}`,
      );
    }

    const failure = await this.runPhase(job);
    job = (await this.jobs.findById(id))!;
    if (failure) {
      const report = await attentionReport(this.handlers.peers, job);
      const error: FailoverErrorDto = {
        code: failure.code,
        message: `cleanup stopped: ${failure.message}${report.summary}`,
        volumes: report.volumes,
      };
      await this.store.change(
        id,
        me,
        { status: 'cleanup_failed', error, claimedBy: null, finishedAt: new Date() },
        error.message,
      );
      return;
    }
    if (job.failoverError) {
      const error = {
        ...job.failoverError,
        message: `${job.failoverError.message} (rolled back: the volumes are back on ${job.applianceVmName})`,
      };
      await this.store.change(
        id,
        me,
        { status: 'failed', error, claimedBy: null, finishedAt: new Date() },
        'failover rolled back',
      );
      return;
    }
    await this.store.change(
      id,
      me,
      { status: 'cleanup_completed', error: null, claimedBy: null, finishedAt: new Date() },
      'cleanup completed',
    );
  }

  /**
   * Runs the current phase's steps that are not done, in order. Returns the first failure, or
   * undefined. The per-volume `return-volume` steps all run even if one fails (every volume that can
   * be made safe is), and the phase stops before the next kind of step.
   */
  private async runPhase(job: JobRecord): Promise<FailoverErrorDto | undefined> {
    let failure: FailoverErrorDto | undefined;
    for (const planned of job.steps.filter((s) => s.phase === job.phase)) {
      if (planned.status === 'done' || planned.status === 'skipped') continue;
      if (failure && planned.name !== 'return-volume') return failure;
      const stepFailure = await this.runStep(job.id, planned.key);
      if (stepFailure && !failure) failure = stepFailure;
      if (stepFailure && planned.name !== 'return-volume') return failure;
    }
    return failure;
  }

  private async runStep(id: string, key: string): Promise<FailoverErrorDto | undefined> {
    if (this.closing) throw new Stopping();
    const me = this.replicaId;
    const job = await this.store.step(id, me, key, (step) => ({
      status: 'running',
      started_at: new Date().toISOString(),
      finished_at: null,
      error: null,
      attempts: step.attempts + 1,
    }));
    const step = job.steps.find((s) => s.key === key)!;
    const deadline = Date.now() + this.config.CLEANUP_STEP_TIMEOUT_MS;
    try {
      const outcome = await this.handlers.run(job, step, deadline);
      await this.store.step(
        id,
        me,
        key,
        {
          status: outcome.skipped ? 'skipped' : 'done',
          finished_at: new Date().toISOString(),
          detail: outcome.detail,
        },
        outcome.change,
      );
      await this.failpoint(id, key);
      return undefined;
    } catch (err) {
      if (err instanceof JobLost || err instanceof Stopping) throw err;
      const error = errorOf(err);
      this.logger.warn({ msg: 'step failed', jobId: id, step: key, error: error.message });
      await this.store.step(id, me, key, {
        status: 'failed',
        finished_at: new Date().toISOString(),
        error: error.message,
      });
      return error;
    }
  }

  /** CLEANUP_PAUSE_AFTER_STEP (tests only): stop dead at this step boundary until killed. */
  private async failpoint(id: string, key: string): Promise<void> {
    if (!this.config.CLEANUP_PAUSE_AFTER_STEP || this.config.CLEANUP_PAUSE_AFTER_STEP !== key) return;
    this.logger.warn({ msg: 'paused at failpoint', jobId: id, step: key });
    await new Promise<never>(() => undefined);
  }
}
