import { Injectable } from '@nestjs/common';
import type { FailoverStepDto, VmDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import type { JobChange, JobRecord } from '../jobs/jobs.repository';
import type { StepName } from './plan';
import { Peers, isNotFound } from './peers';
import { placeVolume } from './volume-placement';

export interface StepOutcome {
  detail: string;
  skipped?: boolean;
  /** Recorded on the job in the same transaction that marks the step done. */
  change?: JobChange;
}

type Handler = (job: JobRecord, step: FailoverStepDto, deadline: number) => Promise<StepOutcome>;

/**
 * One handler per step. Each is idempotent: it looks at what vm-operator and volume-daemon say now
 * and does only what is left, so running it again after a crash repeats no side effect.
 */
@Injectable()
export class StepHandlers {
  private readonly handlers: Record<StepName, Handler> = {
    'create-test-vm': (job) => this.createTestVm(job),
    'move-volume': (job, step, deadline) =>
      this.place(job, step, deadline, {
        target: { id: this.testVmId(job), name: job.testVmName },
        source: { id: job.applianceVmId, name: job.applianceVmName },
        viaCleanupCall: false,
      }),
    'start-test-vm': (job, _step, deadline) => this.startTestVm(job, deadline),
    validate: (job, _step, deadline) => this.validate(job, deadline),
    'check-power-state': (job) => this.checkPowerState(job),
    'power-off': (job) => this.powerOff(job),
    'verify-powered-off': (job) => this.verifyPoweredOff(job),
    'return-volume': (job, step, deadline) =>
      this.place(job, step, deadline, {
        target: { id: job.applianceVmId, name: job.applianceVmName },
        source: job.testVmId ? { id: job.testVmId, name: job.testVmName } : null,
        viaCleanupCall: true,
      }),
    'verify-appliance': (job) => this.verifyAppliance(job),
    'delete-test-vm': (job) => this.deleteTestVm(job),
    'verify-test-vm-deleted': (job) => this.verifyTestVmDeleted(job),
  };

  constructor(readonly peers: Peers) {}

  run(job: JobRecord, step: FailoverStepDto, deadline: number): Promise<StepOutcome> {
    const handler = this.handlers[step.name as StepName];
    if (!handler) throw new Error(`unknown step ${step.name}`);
    return handler(job, step, deadline);
  }

  private testVmId(job: JobRecord): string {
    if (!job.testVmId) throw new FerryError('INTERNAL', `job ${job.id} has no test VM yet`);
    return job.testVmId;
  }

  /** The test VM, or null when there is none (never created, or already deleted). */
  private async testVm(job: JobRecord): Promise<VmDto | null> {
    return job.testVmId ? this.peers.vmOrNull(job.testVmId) : null;
  }

  private async createTestVm(job: JobRecord): Promise<StepOutcome> {
    const recorded = await this.testVm(job);
    if (recorded) return { detail: `test VM ${recorded.name} (${recorded.id}) exists` };
    // The name is the job's own, so a VM made by a run that crashed before recording it is found again.
    let vm = await this.peers.vmByName(job.testVmName);
    let detail = `found test VM ${job.testVmName}`;
    if (!vm) {
      const nics = job.nics.length ? job.nics : undefined;
      vm = await this.peers.createVm(job.template, job.testVmName, nics).catch(async (err: unknown) => {
        const raced = err instanceof FerryError && err.code === 'CONFLICT';
        const found = raced ? await this.peers.vmByName(job.testVmName) : undefined;
        if (!found) throw err;
        return found;
      });
      detail = `created test VM ${vm.name} from template ${job.template}`;
    }
    return { detail: `${detail} (${vm.id})`, change: { testVmId: vm.id } };
  }

  private async place(
    job: JobRecord,
    step: FailoverStepDto,
    deadline: number,
    placement: Parameters<typeof placeVolume>[2],
  ): Promise<StepOutcome> {
    return { detail: await placeVolume(this.peers, step.volume_id!, placement, deadline) };
  }

  private async startTestVm(job: JobRecord, deadline: number): Promise<StepOutcome> {
    const id = this.testVmId(job);
    let vm = await this.peers.vm(id);
    if (vm.state === 'running') return { detail: `test VM ${vm.name} is running` };
    if (vm.state === 'stopped' || vm.state === 'error') await this.peers.startVm(id);
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      vm = await this.peers.vm(id);
      if (vm.state === 'running') return { detail: `test VM ${vm.name} started (pid ${vm.pid ?? '?'})` };
      if (vm.state === 'error' || vm.state === 'stopped')
        throw new FerryError('INTERNAL', `test VM ${vm.name} did not start: ${vm.last_error ?? vm.state}`);
      if (Date.now() + delay > deadline)
        throw new FerryError('TIMEOUT', `test VM ${vm.name} is still ${vm.state}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** Phase 1: the test VM, the volumes on it, and no volume operation in flight on any of them. */
  private async validate(job: JobRecord, deadline: number): Promise<StepOutcome> {
    const vm = await this.testVm(job);
    const onTest = vm ? await this.peers.disksOn(vm.id) : [];
    const ours = new Set(job.volumes.map((v) => v.id));
    const foreign = onTest.filter((d) => !ours.has(d.id));
    if (foreign.length > 0)
      throw FerryError.conflict(
        `test VM ${job.testVmName} also has ${foreign.map((d) => `"${d.name}"`).join(', ')} attached, ` +
          `which this job did not put there; detach ${foreign.length > 1 ? 'them' : 'it'} first`,
        { disks: foreign.map((d) => d.id) },
      );
    const waited: string[] = [];
    for (const v of job.volumes) {
      const disk = await this.peers.disk(v.id);
      if (!disk.operation_id) continue;
      const op = await this.peers.operationDone(disk.operation_id, deadline);
      waited.push(`${op.type} ${op.id} on "${v.name}" ${op.status}`);
    }
    const where = vm ? `test VM ${vm.name} is ${vm.state}` : 'there is no test VM';
    const count = `${onTest.length} of ${job.volumes.length} volumes on the test VM`;
    return {
      detail: [where, count, ...(waited.length ? [`waited for ${waited.join(', ')}`] : [])].join('; '),
    };
  }

  private async checkPowerState(job: JobRecord): Promise<StepOutcome> {
    if (!(await this.testVm(job))) return { detail: 'no test VM', skipped: true };
    const power = await this.peers.powerState(job.testVmId!);
    return { detail: `test VM is ${power.state}${power.running ? ' (running)' : ''}` };
  }

  private async powerOff(job: JobRecord): Promise<StepOutcome> {
    if (!(await this.testVm(job))) return { detail: 'no test VM', skipped: true };
    const power = await this.peers.powerState(job.testVmId!);
    if (!power.running) return { detail: `already off (${power.state})`, skipped: true };
    const after = await this.peers.powerOff(job.testVmId!);
    return { detail: `powered off: ${power.state} → ${after.state}` };
  }

  private async verifyPoweredOff(job: JobRecord): Promise<StepOutcome> {
    if (!(await this.testVm(job))) return { detail: 'no test VM', skipped: true };
    const power = await this.peers.validatePoweredOff(job.testVmId!);
    return { detail: `test VM is ${power.state}` };
  }

  /** Phase 3's check, from both sides: volume-daemon's record and the appliance's own device list. */
  private async verifyAppliance(job: JobRecord): Promise<StepOutcome> {
    const seen: string[] = [];
    for (const v of job.volumes) {
      const disk = await this.peers.disk(v.id);
      if (disk.vm_id !== job.applianceVmId || disk.state !== 'in-use' || !disk.mount_point)
        throw new FerryError(
          'INTERNAL',
          `volume "${v.name}" is ${disk.state}${disk.vm_id ? ` on VM ${disk.vm_id}` : ''}, not in use by the appliance`,
        );
      const path = await this.peers.devicePath(job.applianceVmId, v.id);
      if (path !== disk.mount_point)
        throw new FerryError(
          'INTERNAL',
          `the appliance shows volume "${v.name}" as ${path ?? 'no device'}, but its record says ${disk.mount_point}`,
        );
      seen.push(`${v.name} → ${path}`);
    }
    return { detail: seen.join(', ') };
  }

  private async deleteTestVm(job: JobRecord): Promise<StepOutcome> {
    if (!job.deleteVm) return { detail: 'delete_vm is false: the test VM is kept', skipped: true };
    const vm = await this.testVm(job);
    if (!vm) return { detail: 'the test VM is already gone', skipped: true };
    await this.peers.deleteVm(vm.id).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    return { detail: `deleted test VM ${vm.name}` };
  }

  private async verifyTestVmDeleted(job: JobRecord): Promise<StepOutcome> {
    if (!job.deleteVm) return { detail: 'delete_vm is false', skipped: true };
    const vm = await this.testVm(job);
    if (vm) throw new FerryError('INTERNAL', `test VM ${vm.name} still exists (${vm.state})`);
    return { detail: `test VM ${job.testVmName} no longer exists` };
  }
}
