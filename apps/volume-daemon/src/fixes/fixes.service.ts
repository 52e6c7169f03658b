import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FixDisksRequest, VolumeOperationDto } from '@ferry/contracts';
import { FerryError } from '@ferry/contracts';
import { Transactional, currentCorrelationId } from '@ferry/platform';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { VolumeBackend } from '../backends/volume-backend';
import { DiskTransitions } from '../disks/disk-transitions';
import { DisksRepository } from '../disks/disks.repository';
import type { FixParams } from '../operations/flows/fix.flow';
import { OperationRunner } from '../operations/operation-runner';
import { OperationsRepository, toOperationDto } from '../operations/operations.repository';

/**
 * Accepts a guest's fix (seed 001 FIX): every one of its disks is taken by one `fix` operation in one
 * transaction (rows locked in id order, so two fixes never deadlock), or none is: CONFLICT naming the
 * operation that holds one, or the state that forbids it. The disks keep their state; while the fix
 * holds them nothing else may attach, detach, delete or fix them.
 */
@Injectable()
export class FixesService {
  private readonly logger = new Logger(FixesService.name);

  constructor(
    private readonly tx: Transactional,
    private readonly disks: DisksRepository,
    private readonly operations: OperationsRepository,
    private readonly transitions: DiskTransitions,
    private readonly runner: OperationRunner,
    @Inject(VOLUME_BACKEND) private readonly backend: VolumeBackend,
  ) {}

  async fix(req: FixDisksRequest): Promise<VolumeOperationDto> {
    if (!this.backend.importTarget)
      throw new FerryError(
        'UNPROCESSABLE',
        `the ${this.backend.kind} backend cannot fix guests (no image files here)`,
      );
    const missing: string[] = [];
    for (const id of req.diskIds) if (!(await this.disks.findById(id))) missing.push(id);
    if (missing.length)
      throw FerryError.notFound(`disk(s) not found: ${missing.join(', ')}`, { diskIds: missing });
    const params: FixParams = {
      diskIds: req.diskIds,
      guest: req.guest,
      virtV2v: req.virtV2v,
      fixes: req.fixes,
      requestedBy: req.requestedBy ?? null,
    };
    const op = await this.tx.run(async (uow) => {
      const locked = [];
      for (const id of [...req.diskIds].sort()) {
        const disk = (await this.disks.lock(uow.em, id))!;
        if (disk.operationId)
          throw FerryError.conflict(
            `disk "${disk.name}" has an operation in flight (${disk.operationId}); wait for it to finish`,
            { id: disk.id, operationId: disk.operationId },
          );
        if (disk.state !== 'available' && disk.state !== 'in-use')
          throw FerryError.conflict(`cannot fix disk "${disk.name}" while it is ${disk.state}`, {
            id: disk.id,
            state: disk.state,
          });
        locked.push(disk);
      }
      const first = locked.find((d) => d.id === req.diskIds[0])!;
      const op = await this.operations.insert(uow.em, {
        id: randomUUID(),
        type: 'fix',
        status: 'pending',
        diskId: first.id,
        vmId: first.vmId,
        params: params as unknown as Record<string, unknown>,
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      });
      for (const disk of locked)
        await this.transitions.changeLocked(
          uow,
          disk,
          null,
          { state: disk.state, operationId: op.id },
          'guest fix requested',
        );
      return op;
    });
    this.logger.log({ msg: 'fix accepted', operationId: op.id, disks: req.diskIds, virtV2v: req.virtV2v });
    this.runner.start(op);
    return toOperationDto(op);
  }
}
