import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import type {
  AttachDeviceRequest,
  AttachedDeviceDto,
  DeviceListDto,
  DeviceRefRequest,
  PowerStateDto,
  SnapshotDto,
} from '@ferry/contracts';
import { DeviceEvents, FerryError } from '@ferry/contracts';
import { EventFactory, Transactional } from '@ferry/platform';
import { QmpError } from '@ferry/qemu';
import type { EntityManager } from 'typeorm';
import { byIdPathOf, scsiAddress } from '../drivers/qemu/qemu-args';
import type { DiskSpec } from '../drivers/qemu/qemu-args';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import { ImagePaths } from '../storage/image-paths';
import type { VmRecord } from '../vms/entities/vm.entity';
import { VmsRepository } from '../vms/vms.repository';
import type { DeviceRecord } from './devices.repository';
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
    private readonly images: ImagePaths,
  ) {}

  /**
   * Refused before anything is recorded or plugged when the image, or a file it names, lies outside
   * VM_STORAGE_DIRS, or it is not the format said.
   */
  async attach(req: AttachDeviceRequest): Promise<AttachedDeviceDto> {
    await this.images.check(req.path, req.deviceId, req.format);
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
        const existing = (await this.devices.list(vm.id, uow.em)).find((d) => d.deviceId === disk.deviceId);
        // A retried attach (volume-daemon finishing one it lost track of) gets the same answer.
        if (existing) return this.existingAddress(vm, existing, disk, uow.em);
        await this.devices.insert(uow.em, vm.id, disk);
        let device: AttachedDeviceDto;
        if (vm.state === 'running') {
          device = { ...(await this.qemu.attachDisk(vm.id, disk).catch(refused(disk))), live: true };
          pluggedInto = vm.id;
        } else {
          const scsiId = (await this.devices.list(vm.id, uow.em)).findIndex(
            (d) => d.deviceId === disk.deviceId,
          );
          device = { ...scsiAddress(disk.deviceId, scsiId), live: false };
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

  private async existingAddress(
    vm: VmRecord,
    existing: DeviceRecord,
    wanted: DiskSpec,
    em: EntityManager,
  ): Promise<AttachedDeviceDto> {
    if (existing.path !== wanted.path || existing.format !== wanted.format) {
      throw FerryError.conflict(
        `device "${wanted.deviceId}" is already attached to VM ${vm.id} with another image`,
        {
          vmId: vm.id,
          deviceId: wanted.deviceId,
        },
      );
    }
    if (vm.state === 'running') {
      const scsiId = await this.qemu.scsiIdOf(vm.id, wanted.deviceId);
      if (scsiId === undefined)
        throw new FerryError(
          'INTERNAL',
          `device "${wanted.deviceId}" is recorded on VM ${vm.id} but QEMU does not have it`,
          {
            vmId: vm.id,
            deviceId: wanted.deviceId,
          },
        );
      return { ...scsiAddress(wanted.deviceId, scsiId), live: true };
    }
    const scsiId = (await this.devices.list(vm.id, em)).findIndex((d) => d.deviceId === wanted.deviceId);
    return { ...scsiAddress(wanted.deviceId, scsiId), live: false };
  }

  async detach(req: DeviceRefRequest): Promise<{ deviceId: string }> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_DETACH_TIMEOUT_MS;
    await this.tx.run(async (uow) => {
      const vm = await this.lockSettled(uow.em, req.vmId, 'detach a device from');
      const disk = (await this.devices.list(vm.id, uow.em)).find((d) => d.deviceId === req.deviceId);
      if (disk?.overlayPath) {
        throw FerryError.conflict(`disk "${req.deviceId}" has a snapshot; consolidate it before detaching`, {
          vmId: vm.id,
          deviceId: req.deviceId,
        });
      }
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

  /**
   * Freezes a disk's image for reading (the inspector): a running VM writes to a qcow2 overlay from
   * now on (blockdev-snapshot-sync); for a stopped one qemu-img makes the overlay. One at a time.
   */
  async snapshot(req: DeviceRefRequest): Promise<SnapshotDto> {
    return this.tx.run(async (uow) => {
      const vm = await this.lockSettled(uow.em, req.vmId, 'snapshot a disk of');
      const disk = await this.recorded(uow.em, vm.id, req.deviceId);
      if (disk.overlayPath) {
        throw FerryError.conflict(`disk "${disk.deviceId}" already has a snapshot; consolidate it first`, {
          vmId: vm.id,
          deviceId: disk.deviceId,
          overlayPath: disk.overlayPath,
        });
      }
      const overlayPath = join(this.qemu.paths(vm.id).dir, `${disk.deviceId}.overlay.qcow2`);
      const live = vm.state === 'running';
      await mkdir(this.qemu.paths(vm.id).dir, { recursive: true, mode: 0o700 });
      if (live) await this.qemu.snapshot(vm.id, disk.deviceId, overlayPath);
      else await this.qemu.snapshotOffline(disk.path, disk.format, overlayPath);
      await this.devices.setOverlay(uow.em, vm.id, disk.deviceId, overlayPath);
      this.logger.log({ msg: 'disk snapshot taken', vmId: vm.id, deviceId: disk.deviceId, live });
      return { vmId: vm.id, deviceId: disk.deviceId, imagePath: disk.path, overlayPath, live };
    });
  }

  /** Commits the overlay's writes back into the image and removes the overlay. */
  async consolidate(req: DeviceRefRequest): Promise<{ deviceId: string }> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_DETACH_TIMEOUT_MS;
    await this.tx.run(async (uow) => {
      const vm = await this.lockSettled(uow.em, req.vmId, 'consolidate a disk of');
      const disk = await this.recorded(uow.em, vm.id, req.deviceId);
      if (!disk.overlayPath)
        throw FerryError.conflict(`disk "${disk.deviceId}" has no snapshot`, {
          vmId: vm.id,
          deviceId: disk.deviceId,
        });
      if (vm.state === 'running')
        await this.qemu.consolidate(vm.id, disk.deviceId, disk.overlayPath, timeoutMs);
      else await this.qemu.consolidateOffline(disk.overlayPath);
      await this.devices.setOverlay(uow.em, vm.id, disk.deviceId, null);
      this.logger.log({ msg: 'disk snapshot consolidated', vmId: vm.id, deviceId: disk.deviceId });
    });
    return { deviceId: req.deviceId };
  }

  /** A running VM: what QMP reports. A stopped one: what it will start with. */
  async list(vmId: string): Promise<DeviceListDto> {
    const vm = await this.require(vmId);
    if (vm.state === 'running' && (await this.qemu.runningPid(vm.id))) {
      const items = (await this.qemu.listBlockDevices(vm.id)).map((d) => ({
        deviceId: d.deviceId,
        byIdPath: byIdPathOf(d.deviceId),
        path: d.file ?? '',
        format: d.format ?? '',
        readOnly: d.readOnly,
      }));
      return { vmId, source: 'qmp', items };
    }
    const items = (await this.devices.list(vm.id)).map((d) => ({
      deviceId: d.deviceId,
      byIdPath: byIdPathOf(d.deviceId),
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

  private async recorded(em: EntityManager, vmId: string, deviceId: string): Promise<DeviceRecord> {
    const disk = (await this.devices.list(vmId, em)).find((d) => d.deviceId === deviceId);
    if (!disk) throw FerryError.notFound(`VM ${vmId} has no device "${deviceId}"`, { vmId, deviceId });
    return disk;
  }

  /**
   * Commits any overlay left on a VM that is not running (stopped with a snapshot, or QEMU died), so
   * that the writes it holds reach the image before the VM starts again. Called by the lifecycle.
   */
  async settleOverlays(vmId: string): Promise<void> {
    for (const disk of await this.devices.list(vmId)) {
      if (!disk.overlayPath) continue;
      await this.qemu.consolidateOffline(disk.overlayPath);
      await this.tx.run((uow) => this.devices.setOverlay(uow.em, vmId, disk.deviceId, null));
      this.logger.log({ msg: 'committed a snapshot overlay of a stopped VM', vmId, deviceId: disk.deviceId });
    }
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

/**
 * QEMU refusing a disk (the image is locked by another process, unreadable, not the format said) is
 * the caller's to fix, and it must hear why: UNPROCESSABLE with QEMU's reason, the host path left out.
 */
function refused(disk: DiskSpec): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof QmpError)) throw err;
    const reason = err.message.split(disk.path).join('<image>');
    throw new FerryError('UNPROCESSABLE', `QEMU refused device "${disk.deviceId}": ${reason}`, {
      deviceId: disk.deviceId,
    });
  };
}
