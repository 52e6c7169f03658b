import { Injectable } from '@nestjs/common';
import { DiskEvents, FerryError } from '@ferry/contracts';
import type { UnitOfWork } from '@ferry/platform';
import { EventFactory } from '@ferry/platform';
import type { DiskChange, DiskRecord } from './disks.repository';
import { DisksRepository } from './disks.repository';

/** Every change of a disk goes through here: the row, its generation and its state-changed event together. */
@Injectable()
export class DiskTransitions {
  constructor(
    private readonly disks: DisksRepository,
    private readonly events: EventFactory,
  ) {}

  /**
   * Changes a disk held by `heldBy` (an operation id, or null for none). CONFLICT when the disk is
   * gone or held by someone else: the caller is a straggler and must not change it.
   */
  async change(
    uow: UnitOfWork,
    id: string,
    heldBy: string | null,
    change: DiskChange,
    reason: string,
  ): Promise<DiskRecord> {
    const before = await this.disks.lock(uow.em, id);
    if (!before) throw this.lost(id, heldBy, null);
    return this.changeLocked(uow, before, heldBy, change, reason);
  }

  /** The same, for a caller that has already locked the row (`before`) in this transaction. */
  async changeLocked(
    uow: UnitOfWork,
    before: DiskRecord,
    heldBy: string | null,
    change: DiskChange,
    reason: string,
  ): Promise<DiskRecord> {
    const id = before.id;
    const after = await this.disks.change(uow.em, id, heldBy, change);
    if (!after) throw this.lost(id, heldBy, before.operationId);
    if (before.state !== after.state) {
      await uow.emit(
        this.events.create(DiskEvents.STATE_CHANGED, id, {
          id,
          from: before.state,
          to: after.state,
          generation: after.generation,
          vmId: after.vmId,
          operationId: after.operationId,
          reason,
        }),
      );
    }
    return after;
  }

  private lost(id: string, heldBy: string | null, operationId: string | null): FerryError {
    return FerryError.conflict(`disk ${id} is no longer held by ${heldBy ?? 'no operation'}`, {
      id,
      operationId,
    });
  }
}
