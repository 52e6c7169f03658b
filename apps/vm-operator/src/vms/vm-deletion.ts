import { Injectable, Logger } from '@nestjs/common';
import { DiskSubjects, FerryError, VmEvents, volumeDeviceId } from '@ferry/contracts';
import { EventFactory, FerryClient, Transactional, allPages } from '@ferry/platform';
import { DevicesRepository } from '../devices/devices.repository';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { VmRecord } from './entities/vm.entity';
import { VmLifecycle } from './vm-lifecycle.service';
import { VmTransitions } from './vm-events';
import { VmsRepository } from './vms.repository';

/**
 * Seed 004's delete: "stops it if running and detaches its disks", then deletes. The disks are
 * volume-daemon's, so they are detached through it (`volume-daemon.vm.detach-disks`, each disk its
 * own detach operation) and survive as `available`; vm-operator never writes volume-daemon's records.
 *
 * The request goes vm-operator → volume-daemon → vm-operator (`device.detach`), which is safe: no
 * transaction or VM row lock is held while volume-daemon works (each `device.detach` takes the lock
 * itself), handlers run concurrently, and every request has its deadline. The VM is stopped first, so
 * each detach only changes a record and needs nothing from a guest.
 *
 * Each step leaves a state that says what happened: refused before anything changes (409 for a device
 * volume-daemon does not know, 503 when volume-daemon is down); the VM `stopped` (or `error`) with its
 * disks where volume-daemon left them, and an error naming each disk that was not detached; or deleted.
 */
@Injectable()
export class VmDeletion {
  private readonly logger = new Logger(VmDeletion.name);

  constructor(
    private readonly vms: VmsRepository,
    private readonly devices: DevicesRepository,
    private readonly transitions: VmTransitions,
    private readonly lifecycle: VmLifecycle,
    private readonly qemu: QemuDriver,
    private readonly client: FerryClient,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
  ) {}

  async delete(vm: VmRecord): Promise<void> {
    refuseWhileBusy(vm);
    if ((await this.devices.list(vm.id)).length > 0) {
      await this.checkDisksAreVolumes(vm);
      await this.stopForDelete(vm);
      await this.detachDisks(vm);
    }
    await this.lifecycle.destroy(vm);
    await this.tx.run(async (uow) => {
      const locked = await this.vms.findById(vm.id, uow.em);
      if (!locked) return;
      refuseWhileBusy(locked);
      // An attach takes this same row lock: a disk attached meanwhile is seen here, never orphaned.
      const left = await this.devices.list(vm.id, uow.em);
      if (left.length > 0)
        throw stillAttached(
          locked,
          left.map((d) => d.deviceId),
        );
      await this.vms.delete(uow.em, vm.id);
      await uow.emit(this.events.create(VmEvents.DELETED, vm.id, { id: vm.id, name: locked.name }));
    });
    this.logger.log({ msg: 'VM deleted', vmId: vm.id });
  }

  /** Every recorded device must be a volume-daemon disk on this VM: anything else would be left behind. */
  private async checkDisksAreVolumes(vm: VmRecord): Promise<void> {
    const items = await allPages((cursor) => this.client.send(DiskSubjects.LIST, { vmId: vm.id, cursor }));
    const known = new Set(items.map((d) => volumeDeviceId(d.id)));
    const foreign = (await this.devices.list(vm.id)).map((d) => d.deviceId).filter((id) => !known.has(id));
    if (foreign.length > 0) throw stillAttached(vm, foreign, 'volume-daemon does not know them');
  }

  private async stopForDelete(vm: VmRecord): Promise<void> {
    if (vm.state === 'stopped' || (vm.state === 'error' && !(await this.qemu.runningPid(vm.id)))) return;
    const moving = await this.transitions.move(vm.id, [vm.state], 'stopping', 'delete requested');
    if (!moving) throw changed(vm);
    await this.lifecycle.stopNow(moving, 'stopped to be deleted');
    const after = await this.vms.findById(vm.id);
    if (after?.state !== 'stopped')
      throw new FerryError(
        'INTERNAL',
        `VM "${vm.name}" could not be stopped to be deleted: ${after?.lastError ?? `it is ${after?.state ?? 'gone'}`}`,
        { id: vm.id, state: after?.state ?? null },
      );
  }

  private async detachDisks(vm: VmRecord): Promise<void> {
    try {
      const { detached } = await this.client.send(DiskSubjects.DETACH_VM_DISKS, { vmId: vm.id });
      this.logger.log({ msg: 'disks detached for delete', vmId: vm.id, disks: detached.map((d) => d.id) });
    } catch (err) {
      if (!(err instanceof FerryError)) throw err;
      throw new FerryError(err.code, `VM "${vm.name}" is stopped but not deleted: ${err.message}`, {
        ...err.details,
        id: vm.id,
        state: 'stopped',
      });
    }
  }
}

function refuseWhileBusy(vm: VmRecord): void {
  if (vm.state === 'starting' || vm.state === 'stopping')
    throw FerryError.conflict(`cannot delete VM "${vm.name}" while it is ${vm.state}`, {
      id: vm.id,
      state: vm.state,
    });
}

function stillAttached(vm: VmRecord, deviceIds: string[], why?: string): FerryError {
  return FerryError.conflict(
    `cannot delete VM "${vm.name}": device(s) ${deviceIds.map((d) => `"${d}"`).join(', ')} attached${why ? ` (${why})` : ''}; detach them first`,
    { id: vm.id, deviceIds },
  );
}

function changed(vm: VmRecord): FerryError {
  return FerryError.conflict(`VM "${vm.name}" changed while it was being deleted; look again`, { id: vm.id });
}
