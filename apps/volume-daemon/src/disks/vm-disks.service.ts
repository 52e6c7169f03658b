import { Injectable, Logger } from '@nestjs/common';
import type { DetachVmDisksRequest, DiskDetachFailure, DiskDto, VmDisksDetachedDto } from '@ferry/contracts';
import { FerryError, errorOf, isErrorCode } from '@ferry/contracts';
import { OperationRunner } from '../operations/operation-runner';
import { DisksRepository } from './disks.repository';
import { DisksService } from './disks.service';

/**
 * A VM's disks as one whole: seed 004's "delete a VM detaches its disks". vm-operator asks for it
 * while it deletes the VM; volume-daemon stays the one that detaches, each disk through its own
 * detach operation (recorded, fenced, with its events), so the disks survive as `available`.
 */
@Injectable()
export class VmDisksService {
  private readonly logger = new Logger(VmDisksService.name);

  constructor(
    private readonly disks: DisksService,
    private readonly repo: DisksRepository,
    private readonly runner: OperationRunner,
  ) {}

  /**
   * Detaches every disk attached to the VM, one after the other, and waits for each. Every disk is
   * tried; if any is left, the error names each one with its reason (a disk another operation holds
   * is CONFLICT naming that operation) and lists those that were detached: nothing is undone.
   */
  async detachAll(req: DetachVmDisksRequest): Promise<VmDisksDetachedDto> {
    const attached = await this.repo.list({ vmId: req.vmId });
    const detached: DiskDto[] = [];
    const failed: DiskDetachFailure[] = [];
    for (const disk of attached) {
      try {
        const op = await this.disks.beginDetach({ id: disk.id, timeoutMs: req.timeoutMs }, req.vmId);
        const done = await this.runner.runNow(op);
        if (done.status === 'completed') detached.push(await this.disks.get(disk.id));
        else
          failed.push({
            id: disk.id,
            name: disk.name,
            operation_id: done.id,
            code: done.error?.code ?? 'INTERNAL',
            message: done.error?.message ?? `detach operation ${done.id} did not complete`,
          });
      } catch (err) {
        failed.push({ id: disk.id, name: disk.name, operation_id: null, ...errorOf(err) });
      }
    }
    this.logger.log({
      msg: 'disks of a VM detached',
      vmId: req.vmId,
      detached: detached.map((d) => d.id),
      failed: failed.map((f) => f.id),
    });
    if (failed.length === 0) return { vmId: req.vmId, detached };
    const reasons = failed.map((f) => `disk "${f.name}" (${f.id}): ${f.message}`).join('; ');
    const code = failed[0]!.code;
    throw new FerryError(
      isErrorCode(code) ? code : 'INTERNAL',
      `detached ${detached.length} of ${attached.length} disk(s) of VM ${req.vmId}; ${reasons}`,
      { vmId: req.vmId, detached: detached.map((d) => d.id), failed },
    );
  }
}
