import { Injectable } from '@nestjs/common';
import type {
  CreateTemplateRequest,
  DiskDto,
  DiskFormat,
  FixDisksRequest,
  ImportDiskRequest,
  TemplateDto,
  VmDto,
  VolumeOperationDto,
} from '@ferry/contracts';
import {
  DeviceSubjects,
  DiskSubjects,
  FerryError,
  TemplateSubjects,
  VmSubjects,
  volumeDeviceId,
} from '@ferry/contracts';
import { FerryClient, allPages, retrying } from '@ferry/platform';
import { CleanupConfig } from '../config/cleanup.config';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export function isNotFound(err: unknown): boolean {
  return err instanceof FerryError && err.code === 'NOT_FOUND';
}

/**
 * What cleanup asks of vm-operator and volume-daemon. Every request has a timeout (the platform's
 * NATS_REQUEST_TIMEOUT_MS unless a call says otherwise), and reads are retried while the peer is
 * unavailable, within the step's deadline.
 */
@Injectable()
export class Peers {
  constructor(
    private readonly client: FerryClient,
    private readonly config: CleanupConfig,
  ) {}

  /** A read retried through a short outage of its peer (at most `budgetMs`). */
  read<T>(call: () => Promise<T>, budgetMs = 10_000): Promise<T> {
    return retrying(budgetMs, call);
  }

  // ---- vm-operator ----

  vm(id: string): Promise<VmDto> {
    return this.read(() => this.client.send(VmSubjects.GET, { id }));
  }

  async vmOrNull(id: string): Promise<VmDto | null> {
    return this.vm(id).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  }

  async vmByName(name: string): Promise<VmDto | undefined> {
    const all = await allPages((cursor) => this.read(() => this.client.send(VmSubjects.LIST, { cursor })));
    return all.find((vm) => vm.name === name);
  }

  createVm(template: string, name: string, nics?: { mac: string }[]): Promise<VmDto> {
    return this.client.send(VmSubjects.CREATE, nics ? { template, name, nics } : { template, name });
  }

  stopVm(id: string): Promise<unknown> {
    return this.client.send(VmSubjects.STOP, { id, force: true });
  }

  /** The end of the VM's serial console (this boot). */
  console(id: string, tailBytes = 256 * 1024) {
    return this.read(() => this.client.send(VmSubjects.CONSOLE, { id, tailBytes }));
  }

  startVm(id: string): Promise<unknown> {
    return this.client.send(VmSubjects.START, { id });
  }

  deleteVm(id: string): Promise<unknown> {
    return this.client.send(VmSubjects.DELETE, { id });
  }

  async template(name: string): Promise<TemplateDto | null> {
    return this.read(() => this.client.send(TemplateSubjects.GET, { name })).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  }

  createTemplate(req: CreateTemplateRequest): Promise<TemplateDto> {
    return this.client.send(TemplateSubjects.CREATE, req);
  }

  deleteTemplate(name: string): Promise<unknown> {
    return this.client.send(TemplateSubjects.DELETE, { name });
  }

  async templateExists(name: string): Promise<boolean> {
    return this.read(() => this.client.send(TemplateSubjects.GET, { name })).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
  }

  /** The guest path of the disk's device on the VM, as vm-operator sees it now (QMP when it runs). */
  async devicePath(vmId: string, diskId: string): Promise<string | undefined> {
    const list = await this.read(() => this.client.send(DeviceSubjects.LIST, { vmId }));
    return list.items.find((d) => d.deviceId === volumeDeviceId(diskId))?.byIdPath;
  }

  // ---- volume-daemon ----

  disk(id: string): Promise<DiskDto> {
    return this.read(() => this.client.send(DiskSubjects.GET, { id }));
  }

  disksOn(vmId: string): Promise<DiskDto[]> {
    return allPages((cursor) => this.read(() => this.client.send(DiskSubjects.LIST, { vmId, cursor })));
  }

  async diskByName(name: string): Promise<DiskDto | undefined> {
    const all = await allPages((cursor) => this.read(() => this.client.send(DiskSubjects.LIST, { cursor })));
    return all.find((d) => d.name === name);
  }

  deleteDisk(id: string): Promise<unknown> {
    return this.client.send(DiskSubjects.DELETE, { id });
  }

  importDisk(req: ImportDiskRequest): Promise<VolumeOperationDto> {
    // Accepting a vSphere import opens the source and measures it: the inspector's deadline, and some.
    return this.client.send(DiskSubjects.IMPORT, req, { timeoutMs: 150_000 });
  }

  fixDisks(req: FixDisksRequest): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.FIX, req);
  }

  convertDisk(id: string, format: DiskFormat): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.CONVERT, { id, format });
  }

  operation(id: string): Promise<VolumeOperationDto> {
    return this.read(() => this.client.send(DiskSubjects.OPERATION_GET, { id }));
  }

  cancelOperation(id: string, reason: string): Promise<VolumeOperationDto> {
    return this.read(() => this.client.send(DiskSubjects.OPERATION_CANCEL, { id, reason }));
  }

  attach(id: string, vmId: string): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.ATTACH, { id, vmId });
  }

  detach(id: string): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.DETACH, { id });
  }

  /** Seed 002's daemon call: the volume leaves the (powered-off) test VM for the appliance VM. */
  returnToAppliance(volumeId: string, testVmId: string, applianceVmId: string): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.CLEANUP_TEST_FAILOVER, {
      test_vm_id: testVmId,
      volume_id: volumeId,
      oma_vm_id: applianceVmId,
      delete_vm: false,
      force_clean: false,
    });
  }

  powerState(vmId: string) {
    return this.read(() => this.client.send(DiskSubjects.POWER_STATE, { vmId }));
  }

  powerOff(vmId: string) {
    const timeoutMs = this.config.CLEANUP_POWER_OFF_TIMEOUT_MS;
    return this.client.send(DiskSubjects.POWER_OFF, { vmId, timeoutMs }, { timeoutMs: timeoutMs + 5_000 });
  }

  validatePoweredOff(vmId: string) {
    return this.read(() => this.client.send(DiskSubjects.VALIDATE_POWERED_OFF, { vmId }));
  }

  /** Polls a volume operation until it has finished, or throws TIMEOUT at `deadline`. */
  async operationDone(id: string, deadline: number): Promise<VolumeOperationDto> {
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      const op = await this.read(() => this.client.send(DiskSubjects.OPERATION_GET, { id }));
      if (FINISHED.has(op.status)) return op;
      if (Date.now() + delay > deadline)
        throw new FerryError('TIMEOUT', `volume operation ${id} (${op.type}) is still ${op.status}`, {
          operationId: id,
        });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
