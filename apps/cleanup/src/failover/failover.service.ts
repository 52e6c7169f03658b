import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type {
  CleanupFailoverRequest,
  DiskDto,
  FailoverJobDto,
  FailoverVolumeDto,
  ListFailoverJobsRequest,
  TestFailoverRequest,
  VmDto,
  Page,
} from '@ferry/contracts';
import { FerryError, decodeCursor, pageLimit } from '@ferry/contracts';
import { Transactional, currentCorrelationId, pageOf } from '@ferry/platform';
import { CleanupConfig } from '../config/cleanup.config';
import { JobStore } from '../jobs/job-store';
import type { JobChange, JobRecord } from '../jobs/jobs.repository';
import { JobsRepository, isUniqueViolation, toJobDto } from '../jobs/jobs.repository';
import { Peers } from '../saga/peers';
import { planSteps, resetUnfinished } from '../saga/plan';
import { SagaRunner } from '../saga/saga-runner';

const RUNNING = new Set(['pending', 'running', 'cleanup_running']);

/** `PGWin.Test_2` → `pgwin-test-2`: a source VM name as part of a vm-operator VM name. */
export function testVmName(vmName: string, jobId: string): string {
  const slug = vmName.toLowerCase().replace(/[._]/g, '-');
  return `${slug}-test-${jobId.slice(0, 8)}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Accepts failover, cleanup and resume requests: checks them, records the job, and hands it to the runner. */
@Injectable()
export class FailoverService {
  constructor(
    private readonly tx: Transactional,
    private readonly jobs: JobsRepository,
    private readonly store: JobStore,
    private readonly peers: Peers,
    private readonly runner: SagaRunner,
    private readonly config: CleanupConfig,
  ) {}

  async test(req: TestFailoverRequest): Promise<FailoverJobDto> {
    const template = req.template ?? this.config.CLEANUP_TEST_VM_TEMPLATE;
    if (!template)
      throw FerryError.validation('no template for the test VM', [
        { field: 'template', messages: ['template is required (CLEANUP_TEST_VM_TEMPLATE is not set)'] },
      ]);
    await this.refuseIfHeld(req.vm_name);
    if (!(await this.peers.templateExists(template)))
      throw new FerryError('UNPROCESSABLE', `template "${template}" does not exist`, { template });
    const appliance = await this.peers.vmByName(this.config.CLEANUP_APPLIANCE_VM);
    if (!appliance)
      throw new FerryError(
        'UNAVAILABLE',
        `the appliance VM "${this.config.CLEANUP_APPLIANCE_VM}" (CLEANUP_APPLIANCE_VM) does not exist in vm-operator`,
      );
    const volumes = await this.volumesOf(req, appliance);
    const id = randomUUID();
    const job = await this.store
      .create({
        id,
        vmName: req.vm_name,
        status: 'pending',
        phase: 'failover',
        template,
        applianceVmId: appliance.id,
        applianceVmName: appliance.name,
        testVmId: null,
        testVmName: testVmName(req.vm_name, id),
        volumes,
        nics: req.nics ?? [],
        deleteVm: this.config.CLEANUP_DELETE_VM,
        steps: planSteps('failover', volumes),
        error: null,
        failoverError: null,
        requestedBy: req.requested_by ?? null,
        cleanupRequestedBy: null,
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      })
      .catch(async (err: unknown) => {
        if (isUniqueViolation(err)) await this.refuseIfHeld(req.vm_name);
        throw err;
      });
    this.runner.start(job);
    return toJobDto(job);
  }

  async cleanup(req: CleanupFailoverRequest): Promise<FailoverJobDto> {
    const latest = await this.jobs.latestForVm(req.vm_name);
    if (!latest || latest.status === 'cleanup_completed' || latest.status === 'failed')
      throw FerryError.notFound(
        `VM "${req.vm_name}" has no test failover to clean up${
          latest ? ` (its latest job ${latest.id} is ${latest.status})` : ''
        }`,
        { vm_name: req.vm_name },
      );
    this.refuseIfRunning(latest);
    await this.refuseIfBusy(latest);
    const job = await this.tx.run(async (uow) => {
      const locked = (await this.jobs.lock(uow.em, latest.id))!;
      this.refuseIfRunning(locked);
      const steps =
        locked.phase === 'failover'
          ? [...locked.steps, ...planSteps('cleanup', locked.volumes)]
          : resetUnfinished(locked.steps, 'cleanup');
      const change: JobChange = {
        status: 'cleanup_running',
        phase: 'cleanup',
        steps,
        deleteVm: req.delete_vm ?? this.config.CLEANUP_DELETE_VM,
        cleanupRequestedBy: req.requested_by ?? null,
        claimedBy: this.runner.replicaId,
        error: null,
        finishedAt: null,
      };
      return this.store.changeLocked(uow, locked, change, 'cleanup requested');
    });
    this.runner.start(job);
    return toJobDto(job);
  }

  /** Goes on with a job that stopped (`cleanup_failed`) or whose replica died. */
  async resume(id: string): Promise<FailoverJobDto> {
    const job = await this.tx.run(async (uow) => {
      const locked = await this.jobs.lock(uow.em, id);
      if (!locked) throw FerryError.notFound(`failover job ${id} does not exist`, { id });
      switch (locked.status) {
        case 'test_active':
          throw FerryError.conflict(
            `job ${id} has an active test; clean it up with POST /api/v1/failover/cleanup/${locked.vmName}`,
            { id, status: locked.status },
          );
        case 'cleanup_completed':
        case 'failed':
          throw FerryError.conflict(`job ${id} is ${locked.status}: there is nothing to resume`, {
            id,
            status: locked.status,
          });
        case 'cleanup_failed':
          return this.store.changeLocked(
            uow,
            locked,
            {
              status: 'cleanup_running',
              steps: resetUnfinished(locked.steps, 'cleanup'),
              claimedBy: this.runner.replicaId,
              error: null,
              finishedAt: null,
            },
            'cleanup resumed',
          );
        case 'pending':
        case 'running':
        case 'cleanup_running':
          if (locked.claimedBy && (await this.runner.isAlive(locked.claimedBy)))
            throw FerryError.conflict(`job ${id} is ${locked.status} on a live replica`, {
              id,
              status: locked.status,
            });
          return this.store.changeLocked(
            uow,
            locked,
            { claimedBy: this.runner.replicaId },
            'resumed after its replica stopped',
          );
      }
    });
    this.runner.start(job);
    return toJobDto(job);
  }

  /** One page of jobs, newest first. */
  async list(req: ListFailoverJobsRequest): Promise<Page<FailoverJobDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.jobs.page({ vmName: req.vm_name, status: req.status }, limit + 1, after);
    return pageOf(rows, limit, (r) => [r.pageAt, r.id], toJobDto);
  }

  async get(id: string): Promise<FailoverJobDto> {
    const job = await this.jobs.findById(id);
    if (!job) throw FerryError.notFound(`failover job ${id} does not exist`, { id });
    return toJobDto(job);
  }

  private async refuseIfHeld(vmName: string): Promise<void> {
    const held = await this.jobs.activeForVm(vmName);
    if (held)
      throw FerryError.conflict(
        `VM "${vmName}" already has failover job ${held.id} (${held.status}); clean it up first`,
        { jobId: held.id, status: held.status },
      );
  }

  private refuseIfRunning(job: JobRecord): void {
    if (RUNNING.has(job.status))
      throw FerryError.conflict(
        `a ${job.phase} of VM "${job.vmName}" is already running (job ${job.id} is ${job.status})`,
        { jobId: job.id, status: job.status },
      );
  }

  /** Phase 1's "check for active operations", answered before the job is accepted. */
  private async refuseIfBusy(job: JobRecord): Promise<void> {
    const onTest = job.testVmId ? await this.peers.disksOn(job.testVmId) : [];
    const ours = await Promise.all(job.volumes.map((v) => this.peers.disk(v.id).catch(() => undefined)));
    const busy = [...onTest, ...ours].filter((d): d is DiskDto => !!d?.operation_id);
    if (busy.length > 0)
      throw FerryError.conflict(
        `volume "${busy[0]!.name}" has operation ${busy[0]!.operation_id} in flight; try again when it has finished`,
        { volumeId: busy[0]!.id, operationId: busy[0]!.operation_id },
      );
  }

  /** The volumes to move: named in the request, or the appliance's disks named `<vm_name>-disk<N>`. */
  private async volumesOf(req: TestFailoverRequest, appliance: VmDto): Promise<FailoverVolumeDto[]> {
    const onAppliance = await this.peers.disksOn(appliance.id);
    let chosen: DiskDto[];
    if (req.volumes) {
      chosen = [];
      for (const id of req.volumes) {
        const disk = onAppliance.find((d) => d.id === id) ?? (await this.peers.disk(id));
        if (disk.vm_id !== appliance.id || disk.state !== 'in-use')
          throw FerryError.conflict(
            `volume "${disk.name}" is not in use by the appliance VM ${appliance.name} (it is ${disk.state}${
              disk.vm_id ? ` on VM ${disk.vm_id}` : ''
            })`,
            { volumeId: id, state: disk.state, vmId: disk.vm_id },
          );
        chosen.push(disk);
      }
    } else {
      const pattern = new RegExp(`^${escapeRegExp(req.vm_name)}-disk\\d+$`);
      chosen = onAppliance
        .filter((d) => pattern.test(d.name))
        .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
      if (chosen.length === 0)
        throw FerryError.notFound(
          `VM "${req.vm_name}" has no volumes on the appliance VM ${appliance.name} (disks named ${req.vm_name}-disk<N>)`,
          { vm_name: req.vm_name },
        );
    }
    const busy = chosen.find((d) => d.operation_id);
    if (busy)
      throw FerryError.conflict(`volume "${busy.name}" has operation ${busy.operation_id} in flight`, {
        volumeId: busy.id,
        operationId: busy.operation_id,
      });
    return chosen.map((d) => ({ id: d.id, name: d.name }));
  }
}
