import { Injectable } from '@nestjs/common';
import type { VmState } from '@ferry/contracts';
import { VmEvents } from '@ferry/contracts';
import type { UnitOfWork } from '@ferry/platform';
import { EventFactory, Transactional } from '@ferry/platform';
import { NicsRepository } from '../network/nics.repository';
import type { VmRuntimeFields } from './vms.repository';
import { VmsRepository } from './vms.repository';
import type { VmRecord } from './entities/vm.entity';
import { toVmDto } from './vm-state';

/**
 * Every state change of a VM goes through here: one transaction, the row and its events together.
 * A VM whose QEMU is gone (stopped, or a start that failed) has no address: its NICs' addresses are
 * cleared in the same transaction, each with `vm.address-changed`.
 */
@Injectable()
export class VmTransitions {
  constructor(
    private readonly vms: VmsRepository,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly nics: NicsRepository,
  ) {}

  /** Returns the updated VM, or null when it was not in one of `from` (someone else moved it). */
  move(
    id: string,
    from: readonly VmState[],
    to: VmState,
    reason: string,
    fields: VmRuntimeFields = {},
  ): Promise<VmRecord | null> {
    return this.tx.run(async (uow) => {
      const before = await this.vms.findById(id, uow.em);
      if (!before) return null;
      let after = await this.vms.transition(uow.em, id, from, to, fields);
      if (!after) return null;
      if (to === 'stopped' || (to === 'error' && before.state === 'starting')) {
        const cleared = await this.nics.clearAddresses(uow.em, id);
        for (const { mac, previous } of cleared)
          await uow.emit(
            this.events.create(VmEvents.ADDRESS_CHANGED, id, { id, mac, local_ip: null, previous }),
          );
        if (cleared.length > 0) after = (await this.vms.findById(id, uow.em)) ?? after;
      }
      await this.announce(uow, before.state, after, reason);
      return after;
    });
  }

  private async announce(uow: UnitOfWork, from: VmState, vm: VmRecord, reason: string): Promise<void> {
    await uow.emit(
      this.events.create(VmEvents.STATE_CHANGED, vm.id, { id: vm.id, from, to: vm.state, reason }),
    );
    if (vm.state === 'running')
      await uow.emit(this.events.create(VmEvents.STARTED, vm.id, { vm: toVmDto(vm) }));
    if (vm.state === 'stopped')
      await uow.emit(this.events.create(VmEvents.STOPPED, vm.id, { vm: toVmDto(vm), reason }));
  }
}
