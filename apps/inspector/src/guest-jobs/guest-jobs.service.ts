import { Injectable } from '@nestjs/common';
import type { GuestInspectionJobDto, GuestInspectionRequest } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { currentCorrelationId } from '@ferry/platform';
import { GuestJobRunner } from './guest-job-runner';
import { GuestJobsRepository, toGuestJobDto } from './guest-jobs.repository';

/** Accepts volume inspections (idempotent by the caller's id) and answers how they are going. */
@Injectable()
export class GuestJobsService {
  constructor(
    private readonly jobs: GuestJobsRepository,
    private readonly runner: GuestJobRunner,
  ) {}

  async inspect(req: GuestInspectionRequest): Promise<GuestInspectionJobDto> {
    const diskIds = req.disks.map((d) => d.diskId);
    const { job, created } = await this.jobs.insertOrGet({
      id: req.id,
      diskIds,
      fixInputs: req.fixInputs ?? false,
      claimedBy: this.runner.replicaId,
      correlationId: currentCorrelationId() ?? null,
    });
    if (!created && JSON.stringify(job.diskIds) !== JSON.stringify(diskIds))
      throw FerryError.conflict(`guest inspection ${req.id} exists with other disks`, { id: req.id });
    if (created) this.runner.start(job);
    return toGuestJobDto(job);
  }

  async get(id: string): Promise<GuestInspectionJobDto> {
    const job = await this.jobs.find(id);
    if (!job) throw FerryError.notFound(`guest inspection ${id} not found`, { id });
    return toGuestJobDto(job);
  }
}
