import { Injectable } from '@nestjs/common';
import type { FailoverJobStatus, FailoverStepDto } from '@ferry/contracts';
import { FailoverEvents, FerryError } from '@ferry/contracts';
import { EventFactory, Transactional } from '@ferry/platform';
import type { UnitOfWork } from '@ferry/platform';
import type { JobChange, JobRecord } from './jobs.repository';
import { JobsRepository, toJobDto } from './jobs.repository';

/** Thrown to a runner that no longer holds its job: it must stop without writing anything. */
export class JobLost extends Error {}

/**
 * Every change of a job goes through here: the row and its events in one transaction. A change made
 * on behalf of a runner (`owner`) is refused once another replica has claimed the job.
 */
@Injectable()
export class JobStore {
  constructor(
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly jobs: JobsRepository,
  ) {}

  async create(job: Omit<JobRecord, 'createdAt' | 'updatedAt' | 'finishedAt'>): Promise<JobRecord> {
    return this.tx.run(async (uow) => {
      const created = await this.jobs.insert(uow.em, job);
      await uow.emit(this.events.create(FailoverEvents.JOB_CREATED, created.id, { job: toJobDto(created) }));
      await this.announce(uow, null, created, 'job accepted');
      return created;
    });
  }

  /** Changes a job the caller has locked in `uow`; emits status-changed when the status moves. */
  async changeLocked(
    uow: UnitOfWork,
    before: JobRecord,
    change: JobChange,
    reason: string,
  ): Promise<JobRecord> {
    const after = await this.jobs.update(uow.em, before.id, change);
    if (before.status !== after.status) await this.announce(uow, before.status, after, reason);
    return after;
  }

  /** Changes a job held by `owner`. */
  async change(id: string, owner: string, change: JobChange, reason: string): Promise<JobRecord> {
    return this.tx.run(async (uow) => {
      const before = await this.held(uow, id, owner);
      return this.changeLocked(uow, before, change, reason);
    });
  }

  /**
   * Updates one step (by key) of a job held by `owner`, with a step-changed event; `patch` may be
   * computed from the step as locked. `also` changes the job too.
   */
  async step(
    id: string,
    owner: string,
    key: string,
    patch: Partial<FailoverStepDto> | ((step: FailoverStepDto) => Partial<FailoverStepDto>),
    also: JobChange = {},
    reason = `step ${key}`,
  ): Promise<JobRecord> {
    return this.tx.run(async (uow) => {
      const before = await this.held(uow, id, owner);
      const steps = before.steps.map((s) =>
        s.key === key ? { ...s, ...(typeof patch === 'function' ? patch(s) : patch) } : s,
      );
      const step = steps.find((s) => s.key === key);
      if (!step) throw new Error(`job ${id} has no step ${key}`);
      const after = await this.changeLocked(uow, before, { ...also, steps }, reason);
      await uow.emit(
        this.events.create(FailoverEvents.JOB_STEP_CHANGED, id, { id, vm_name: after.vmName, step }),
      );
      return after;
    });
  }

  private async held(uow: UnitOfWork, id: string, owner: string): Promise<JobRecord> {
    const job = await this.jobs.lock(uow.em, id);
    if (!job) throw FerryError.notFound(`failover job ${id} does not exist`);
    if (job.claimedBy !== owner) throw new JobLost(`job ${id} is now run by ${job.claimedBy ?? 'nobody'}`);
    return job;
  }

  private async announce(
    uow: UnitOfWork,
    from: FailoverJobStatus | null,
    job: JobRecord,
    reason: string,
  ): Promise<void> {
    await uow.emit(
      this.events.create(FailoverEvents.JOB_STATUS_CHANGED, job.id, {
        id: job.id,
        vm_name: job.vmName,
        from,
        to: job.status,
        reason,
        job: toJobDto(job),
      }),
    );
  }
}
