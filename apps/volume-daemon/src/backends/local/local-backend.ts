import { mkdir, rm, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { AttachedDeviceDto } from '@ferry/contracts';
import { DeviceSubjects, FerryError, VmSubjects, volumeDeviceId } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import { commandReason } from '@ferry/platform';
import { createImage } from '@ferry/qemu';
import type {
  DeviceCorrelation,
  DiskRef,
  DiskSpec,
  ImportTarget,
  ProvisionedDisk,
  VmPower,
  VolumeBackend,
} from '../volume-backend';

export interface LocalBackendOptions {
  storageDir: string;
  /** Deadline of each vm-operator request. */
  timeoutMs: number;
}

function correlationOf(device: AttachedDeviceDto): DeviceCorrelation {
  return {
    deviceId: device.deviceId,
    byIdPath: device.byIdPath,
    address: `${device.bus}:${device.scsiId}:${device.lun}`,
    live: device.live,
  };
}

/**
 * Disk images made with qemu-img in one storage directory, attached through vm-operator's device
 * primitives (which hot-plug into a running VM, or record the disk for a stopped one's next start).
 */
export class LocalBackend implements VolumeBackend {
  readonly kind = 'local' as const;
  readonly importTarget: ImportTarget = {
    pathOf: (id, format) => this.pathOf(id, format),
    directory: async () => {
      const dir = resolve(this.options.storageDir);
      await mkdir(dir, { recursive: true, mode: 0o750 });
      return dir;
    },
    freeBytes: async () => {
      const fs = await statfs(await this.importTarget.directory());
      return fs.bavail * fs.bsize;
    },
  };

  constructor(
    private readonly client: FerryClient,
    private readonly options: LocalBackendOptions,
  ) {}

  /** The file of a disk: named after its id, never after anything a user typed. */
  pathOf(id: string, format: 'qcow2' | 'raw'): string {
    return join(resolve(this.options.storageDir), `${id}.${format}`);
  }

  async createDisk(spec: DiskSpec): Promise<ProvisionedDisk> {
    const path = this.pathOf(spec.id, spec.format);
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    try {
      await createImage(
        path,
        { format: spec.format, sizeBytes: spec.sizeBytes },
        { qemuImg: 'qemu-img', timeoutMs: this.options.timeoutMs },
      );
    } catch (err) {
      await rm(path, { force: true });
      throw new FerryError('INTERNAL', `qemu-img could not create the disk: ${commandReason(err)}`);
    }
    return { ref: path, path, sizeBytes: spec.sizeBytes };
  }

  async deleteDisk(disk: DiskRef): Promise<void> {
    // Only ever a file this backend made: inside the storage directory, named after the disk. An
    // empty ref is a create that never finished: its file, if any, is where it would have been.
    if (disk.ref === '') return rm(this.pathOf(disk.id, disk.format), { force: true });
    if (disk.ref !== this.pathOf(disk.id, disk.format))
      throw new FerryError('INTERNAL', `refusing to delete ${disk.ref}: not this disk's file`, {
        id: disk.id,
      });
    await rm(disk.ref, { force: true });
  }

  async attach(disk: DiskRef, vmId: string): Promise<DeviceCorrelation> {
    const device = await this.client.send(
      DeviceSubjects.ATTACH,
      { vmId, deviceId: volumeDeviceId(disk.id), path: disk.ref, format: disk.format, readOnly: false },
      { timeoutMs: this.options.timeoutMs },
    );
    return correlationOf(device);
  }

  async detach(disk: DiskRef, vmId: string, timeoutMs: number): Promise<void> {
    try {
      await this.client.send(
        DeviceSubjects.DETACH,
        { vmId, deviceId: volumeDeviceId(disk.id), timeoutMs },
        { timeoutMs: Math.max(this.options.timeoutMs, timeoutMs + 5000) },
      );
    } catch (err) {
      // Not attached (or the VM is gone): what a detach wants.
      if (err instanceof FerryError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }

  async findAttachment(disk: DiskRef, vmId: string): Promise<DeviceCorrelation | null> {
    const listed = await this.client
      .send(DeviceSubjects.LIST, { vmId }, { timeoutMs: this.options.timeoutMs })
      .catch((err: unknown) => {
        // A VM that is gone has nothing attached.
        if (err instanceof FerryError && err.code === 'NOT_FOUND') return null;
        throw err;
      });
    if (!listed) return null;
    const device = listed.items.find((d) => d.deviceId === volumeDeviceId(disk.id));
    if (!device) return null;
    // A device of that id with another image is not this disk (and not ours to unplug).
    if (device.path !== disk.ref) return null;
    return {
      deviceId: device.deviceId,
      byIdPath: device.byIdPath,
      address: 'scsi0.0',
      live: listed.source === 'qmp',
    };
  }

  async powerState(vmId: string): Promise<VmPower> {
    const power = await this.client.send(
      DeviceSubjects.POWER_STATE,
      { vmId },
      { timeoutMs: this.options.timeoutMs },
    );
    // Off only when QEMU says so and the record agrees (a VM that is starting is not off).
    const running = power.running || power.state === 'starting' || power.state === 'stopping';
    return { vmId, state: power.state, running };
  }

  async powerOff(vmId: string, timeoutMs: number): Promise<VmPower> {
    const deadline = Date.now() + timeoutMs;
    let stopRequested = false;
    // A forced stop takes tens of ms: look again soon, then less often.
    let delay = 20;
    for (;;) {
      const power = await this.powerState(vmId);
      if (!power.running) return power;
      if (!stopRequested && (power.state === 'running' || power.state === 'error')) {
        stopRequested = await this.client
          .send(VmSubjects.STOP, { id: vmId, force: true }, { timeoutMs: this.options.timeoutMs })
          .then(
            () => true,
            (err: unknown) => {
              // It moved on (someone else is stopping or starting it): look again.
              if (err instanceof FerryError && err.code === 'CONFLICT') return false;
              throw err;
            },
          );
      }
      if (Date.now() >= deadline)
        throw new FerryError(
          'TIMEOUT',
          `VM ${vmId} did not power off within ${timeoutMs} ms (it is ${power.state})`,
          {
            vmId,
            state: power.state,
            timeoutMs,
          },
        );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 250);
    }
  }

  async deleteVm(vmId: string): Promise<void> {
    try {
      await this.client.send(VmSubjects.DELETE, { id: vmId }, { timeoutMs: this.options.timeoutMs });
    } catch (err) {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') return;
      throw err;
    }
  }
}
