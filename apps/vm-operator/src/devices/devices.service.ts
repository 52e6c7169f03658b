import { Injectable, Logger } from '@nestjs/common';
import type {
  AttachDeviceRequest,
  AttachedDeviceDto,
  DetachDeviceRequest,
  DeviceListDto,
  PowerStateDto,
} from '@ferry/contracts';
import { DeviceEvents, FerryError } from '@ferry/contracts';
import { EventFactory, Transactional } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { serialOf } from '../drivers/qemu/qemu-args';
import type { DiskSpec } from '../drivers/qemu/qemu-args';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import type { VmRecord } from '../vms/entities/vm.entity';
import { VmsRepository } from '../vms/vms.repository';
import { DevicesRepository } from './devices.repository';

const DEFAULT_DETACH_TIMEOUT_MS = 10_000;

/**
 * Device primitives for volume-daemon and the inspector. Each runs in one transaction that holds the
 * VM's row lock, so a start, stop or second device change on the same VM waits for it. A running VM
 * is changed through QMP (hot-plug); a stopped one only in its record, which its next start uses.
 */
@Injectable()
export class DevicesService {
  private readonly logger = new Logger(DevicesService.name);

  constructor(
    private readonly vms: VmsRepository,
    private readonly devices: DevicesRepository,
    private readonly qemu: QemuDriver,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
  ) {}

  async attach(req: AttachDeviceRequest): Promise<AttachedDeviceDto> {
    const disk: DiskSpec = {
      deviceId: req.deviceId,
      path: req.path,
      format: req.format,
      readOnly: req.readOnly,
    };
    let pluggedInto: string | undefined;
    try {
      return await this.tx.run(async (uow) => {
        const vm = await this.lockSettled(uow.em, req.vmId, 'attach a device to');
        await this.devices.insert(uow.em, vm.id, disk);
        let device: AttachedDeviceDto;
        if (vm.state === 'running') {
          device = { ...(await this.qemu.attachDisk(vm.id, disk)), live: true };
          pluggedInto = vm.id;
        } else {
          const scsiId = (await this.devices.list(vm.id, uow.em)).findIndex(
            (d) => d.deviceId === disk.deviceId,
          );
          const serial = serialOf(disk.deviceId);
          device = {
            deviceId: disk.deviceId,
            bus: 'scsi0.0',
            scsiId,
            lun: 0,
            serial,
            byIdPath: `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_${serial}`,
            live: false,
          };
        }
        await uow.emit(
          this.events.create(DeviceEvents.ATTACHED, vm.id, { vmId: vm.id, device, path: disk.path }),
        );
        this.logger.log({ msg: 'device attached', vmId: vm.id, deviceId: disk.deviceId, live: device.live });
        return device;
      });
    } catch (err) {
      // Plugged in but not recorded (the commit failed): unplug, so records and QEMU agree.
      if (pluggedInto)
        await this.qemu
          .detachDisk(pluggedInto, disk.deviceId, DEFAULT_DETACH_TIMEOUT_MS)
          .catch(() => undefined);
      throw err;
    }
  }

  async detach(req: DetachDeviceRequest): Promise<{ deviceId: string }> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_DETACH_TIMEOUT_MS;
    await this.tx.run(async (uow) => {
      const vm = await this.lockSettled(uow.em, req.vmId, 'detach a device from');
      if (!(await this.devices.delete(uow.em, vm.id, req.deviceId))) {
        throw FerryError.notFound(`VM ${vm.id} has no device "${req.deviceId}"`, {
          vmId: vm.id,
          deviceId: req.deviceId,
        });
      }
      const live = vm.state === 'running';
      if (live) {
        await this.qemu.detachDisk(vm.id, req.deviceId, timeoutMs).catch((err: Error) => {
          throw new FerryError('TIMEOUT', `device "${req.deviceId}" was not released: ${err.message}`, {
            vmId: vm.id,
            deviceId: req.deviceId,
            timeoutMs,
          });
        });
      }
      await uow.emit(
        this.events.create(DeviceEvents.DETACHED, vm.id, { vmId: vm.id, deviceId: req.deviceId, live }),
      );
      this.logger.log({ msg: 'device detached', vmId: vm.id, deviceId: req.deviceId, live });
    });
    return { deviceId: req.deviceId };
  }

  /** A running VM: what QMP reports. A stopped one: what it will start with. */
  async list(vmId: string): Promise<DeviceListDto> {
    const vm = await this.require(vmId);
    if (vm.state === 'running' && (await this.qemu.runningPid(vm.id))) {
      const items = (await this.qemu.listBlockDevices(vm.id)).map((d) => ({
        deviceId: d.deviceId,
        path: d.file ?? '',
        format: d.format ?? '',
        readOnly: d.readOnly,
      }));
      return { vmId, source: 'qmp', items };
    }
    const items = (await this.devices.list(vm.id)).map((d) => ({
      deviceId: d.deviceId,
      path: d.path,
      format: d.format,
      readOnly: d.readOnly,
    }));
    return { vmId, source: 'record', items };
  }

  async powerState(vmId: string): Promise<PowerStateDto> {
    const vm = await this.require(vmId);
    const pid = (await this.qemu.runningPid(vm.id)) ?? null;
    const running = pid
      ? await this.qemu.status(vm.id).then(
          (s) => s.running,
          () => false,
        )
      : false;
    return { vmId, state: vm.state, running, pid };
  }

  private async require(vmId: string): Promise<VmRecord> {
    const vm = await this.vms.findById(vmId);
    if (!vm) throw FerryError.notFound(`VM "${vmId}" not found`, { id: vmId });
    return vm;
  }

  private async lockSettled(em: EntityManager, vmId: string, what: string): Promise<VmRecord> {
    const vm = await this.vms.findById(vmId, em);
    if (!vm) throw FerryError.notFound(`VM "${vmId}" not found`, { id: vmId });
    // A VM in error whose QEMU is gone is as good as stopped (a failed start is fixed by changing its disks).
    const settled =
      vm.state === 'running' ||
      vm.state === 'stopped' ||
      (vm.state === 'error' && !(await this.qemu.runningPid(vm.id)));
    if (!settled) {
      throw FerryError.conflict(`cannot ${what} VM "${vm.name}" while it is ${vm.state}`, {
        id: vm.id,
        state: vm.state,
      });
    }
    return vm;
  }
}
