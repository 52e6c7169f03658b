import type { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import type {
  DeviceCorrelation,
  DiskRef,
  DiskSpec,
  ProvisionedDisk,
  VmPower,
  VolumeBackend,
} from '../volume-backend';
import type { CloudStackObject } from './cloudstack-client';
import { asObject, CloudStackClient } from './cloudstack-client';

export interface CloudStackBackendOptions {
  /** The API URL, e.g. `https://cloud.example.com/client/api`. */
  endpoint: string;
  apiKey: string;
  secretKey: string;
  /** Zone of new volumes. */
  zoneId: string;
  /** Disk offering of new volumes; it must allow a custom size. */
  diskOfferingId: string;
  requestTimeoutMs: number;
  jobTimeoutMs: number;
  /** First interval between job polls; it doubles up to `maxPollIntervalMs` (default 5 s). */
  pollIntervalMs: number;
  maxPollIntervalMs?: number;
  /** Accept an `http://` endpoint (CLOUDSTACK_ALLOW_HTTP): the API key and signatures go in clear. */
  allowHttp?: boolean;
  logger?: Pick<Logger, 'warn'>;
}

const GIB = 1024 ** 3;
const DEFAULT_MAX_POLL_INTERVAL_MS = 5_000;
/** States in which a VM is certainly off (`VmPower.running` is "true unless certainly off"). */
const OFF_STATES = new Set(['Stopped', 'Destroyed', 'Expunging']);

/** The fields of a CloudStack volume that this backend reads. */
interface Volume {
  id: string;
  name: string | undefined;
  size: number | undefined;
  virtualmachineid: string | undefined;
  deviceid: number | undefined;
  vmstate: string | undefined;
}

interface Vm {
  id: string;
  state: string;
}

/**
 * Disks as CloudStack volumes, VMs as CloudStack VMs. Every method first looks at what CloudStack
 * reports and only then acts, so that running it again after a crash is harmless (see VolumeBackend).
 */
export class CloudStackBackend implements VolumeBackend {
  readonly kind = 'cloudstack' as const;
  private readonly api: CloudStackClient;

  constructor(private readonly options: CloudStackBackendOptions) {
    this.api = new CloudStackClient({
      endpoint: options.endpoint,
      apiKey: options.apiKey,
      secretKey: options.secretKey,
      requestTimeoutMs: options.requestTimeoutMs,
      jobTimeoutMs: options.jobTimeoutMs,
      pollIntervalMs: options.pollIntervalMs,
      maxPollIntervalMs: Math.max(
        options.pollIntervalMs,
        options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS,
      ),
      allowHttp: options.allowHttp === true,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /**
   * `createVolume` in whole GiB (rounded up). The volume is named `<name>-<disk id>`, so a create that
   * is run again after a crash finds the volume it already made instead of making a second one.
   */
  async createDisk(spec: DiskSpec): Promise<ProvisionedDisk> {
    const name = `${spec.name}-${spec.id}`;
    const sizeGiB = Math.max(1, Math.ceil(spec.sizeBytes / GIB));
    const listed = await this.api.request('listVolumes', { name, zoneid: this.options.zoneId });
    // `name` is an exact filter in CloudStack; checking again costs nothing and guards older versions.
    const existing = volumesOf(listed).find((v) => v.name === name);
    if (existing) {
      if (existing.size !== undefined && existing.size !== sizeGiB * GIB) {
        throw FerryError.conflict(`CloudStack volume ${existing.id} named ${name} exists with another size`, {
          volumeId: existing.id,
          sizeBytes: existing.size,
        });
      }
      return { ref: existing.id, path: null, sizeBytes: existing.size ?? sizeGiB * GIB };
    }
    const result = await this.api.requestAndWait('createVolume', {
      name,
      zoneid: this.options.zoneId,
      diskofferingid: this.options.diskOfferingId,
      size: sizeGiB,
    });
    const volume = volumeOf(result['volume']);
    if (!volume) throw new FerryError('INTERNAL', `CloudStack createVolume for ${name} returned no volume`);
    return { ref: volume.id, path: null, sizeBytes: volume.size ?? sizeGiB * GIB };
  }

  /** `deleteVolume`; a volume that is gone succeeds, one that is attached is a CONFLICT. */
  async deleteDisk(disk: DiskRef): Promise<void> {
    const volume = await this.findVolume(disk.ref);
    if (!volume) return;
    if (volume.virtualmachineid) {
      throw FerryError.conflict(
        `CloudStack volume ${volume.id} is attached to VM ${volume.virtualmachineid}`,
        {
          volumeId: volume.id,
          vmId: volume.virtualmachineid,
        },
      );
    }
    try {
      await this.api.requestAndWait('deleteVolume', { id: volume.id });
    } catch (err) {
      if (!isCode(err, 'NOT_FOUND')) throw err;
    }
  }

  /** `attachVolume`, unless the volume is already attached to that VM; attached elsewhere is a CONFLICT. */
  async attach(disk: DiskRef, vmId: string): Promise<DeviceCorrelation> {
    const volume = await this.findVolume(disk.ref);
    if (!volume)
      throw FerryError.notFound(`CloudStack volume ${disk.ref} does not exist`, { volumeId: disk.ref });
    if (volume.virtualmachineid === vmId) return this.correlation(volume, vmId);
    if (volume.virtualmachineid) {
      throw FerryError.conflict(
        `CloudStack volume ${volume.id} is attached to VM ${volume.virtualmachineid}`,
        {
          volumeId: volume.id,
          vmId: volume.virtualmachineid,
        },
      );
    }
    const result = await this.api.requestAndWait('attachVolume', { id: volume.id, virtualmachineid: vmId });
    let attached: Volume | null = volumeOf(result['volume']) ?? null;
    if (attached?.deviceid === undefined) attached = await this.findVolume(disk.ref);
    if (attached?.virtualmachineid !== vmId) {
      throw new FerryError(
        'INTERNAL',
        `CloudStack attachVolume of ${disk.ref} finished but it is not attached to ${vmId}`,
        {
          volumeId: disk.ref,
          vmId,
        },
      );
    }
    return this.correlation(attached, vmId);
  }

  /** `detachVolume`; a volume that is not attached to `vmId` (or is gone) succeeds. */
  async detach(disk: DiskRef, vmId: string, timeoutMs: number): Promise<void> {
    const volume = await this.findVolume(disk.ref);
    if (volume?.virtualmachineid !== vmId) return;
    try {
      await this.api.requestAndWait('detachVolume', { id: volume.id }, timeoutMs);
    } catch (err) {
      // Someone else may have detached it meanwhile; that is the outcome we wanted.
      if (isCode(err, 'TIMEOUT')) throw err;
      const now = await this.findVolume(disk.ref);
      if (now?.virtualmachineid !== vmId) return;
      throw err;
    }
  }

  /** The volume's attachment to `vmId`; null when it is not attached there (or does not exist). */
  async findAttachment(disk: DiskRef, vmId: string): Promise<DeviceCorrelation | null> {
    const volume = await this.findVolume(disk.ref);
    return volume?.virtualmachineid === vmId ? this.correlation(volume, vmId) : null;
  }

  async powerState(vmId: string): Promise<VmPower> {
    return power(await this.requireVm(vmId));
  }

  /** `stopVirtualMachine forced=true` within `timeoutMs`; a VM that is off already returns at once. */
  async powerOff(vmId: string, timeoutMs: number): Promise<VmPower> {
    const deadline = Date.now() + timeoutMs;
    const vm = await this.requireVm(vmId);
    if (!power(vm).running) return power(vm);
    let result: CloudStackObject;
    try {
      result = await this.api.requestAndWait(
        'stopVirtualMachine',
        { id: vmId, forced: true },
        Math.max(0, deadline - Date.now()),
      );
    } catch (err) {
      if (isCode(err, 'TIMEOUT')) throw err;
      const now = await this.requireVm(vmId);
      if (!power(now).running) return power(now);
      throw err;
    }
    return power(vmOf(result['virtualmachine']) ?? (await this.requireVm(vmId)));
  }

  /** `destroyVirtualMachine expunge=true` (`expungeVirtualMachine` if it is destroyed already); gone succeeds. */
  async deleteVm(vmId: string): Promise<void> {
    const vm = await this.findVm(vmId);
    if (!vm || vm.state === 'Expunging') return;
    try {
      if (vm.state === 'Destroyed') await this.api.requestAndWait('expungeVirtualMachine', { id: vmId });
      else await this.api.requestAndWait('destroyVirtualMachine', { id: vmId, expunge: true });
    } catch (err) {
      if (!isCode(err, 'NOT_FOUND')) throw err;
    }
  }

  /**
   * How the guest sees the volume. CloudStack's KVM agent gives each disk the serial "volume uuid
   * without dashes, first 20 characters" (virtio's serial limit), so udev links it under
   * /dev/disk/by-id/virtio-<serial>.
   */
  private async correlation(volume: Volume, vmId: string): Promise<DeviceCorrelation> {
    const vmState = volume.vmstate ?? (await this.requireVm(vmId)).state;
    const deviceId = String(volume.deviceid ?? '');
    return {
      deviceId,
      address: `deviceid:${deviceId}`,
      byIdPath: `/dev/disk/by-id/virtio-${volume.id.replace(/-/g, '').slice(0, 20)}`,
      live: vmState === 'Running',
    };
  }

  /** The volume, or null when CloudStack does not know it (an unknown uuid is reported as an error). */
  private async findVolume(id: string): Promise<Volume | null> {
    try {
      return volumesOf(await this.api.request('listVolumes', { id }))[0] ?? null;
    } catch (err) {
      if (isCode(err, 'NOT_FOUND')) return null;
      throw err;
    }
  }

  private async findVm(id: string): Promise<Vm | null> {
    try {
      const listed = await this.api.request('listVirtualMachines', { id });
      const vms = Array.isArray(listed['virtualmachine']) ? listed['virtualmachine'] : [];
      return vms.map(vmOf).find((vm) => vm?.id === id) ?? null;
    } catch (err) {
      if (isCode(err, 'NOT_FOUND')) return null;
      throw err;
    }
  }

  private async requireVm(id: string): Promise<Vm> {
    const vm = await this.findVm(id);
    if (!vm) throw FerryError.notFound(`CloudStack VM ${id} does not exist`, { vmId: id });
    return vm;
  }
}

function power(vm: Vm): VmPower {
  return { vmId: vm.id, state: vm.state, running: !OFF_STATES.has(vm.state) };
}

function isCode(err: unknown, code: FerryError['code']): boolean {
  return err instanceof FerryError && err.code === code;
}

function volumesOf(listed: CloudStackObject): Volume[] {
  const raw = listed['volume'];
  return Array.isArray(raw) ? raw.flatMap((v) => volumeOf(v) ?? []) : [];
}

function volumeOf(value: unknown): Volume | undefined {
  const o = asObject(value);
  if (!o || typeof o['id'] !== 'string') return undefined;
  return {
    id: o['id'],
    name: typeof o['name'] === 'string' ? o['name'] : undefined,
    size: numberOf(o['size']),
    virtualmachineid:
      typeof o['virtualmachineid'] === 'string' && o['virtualmachineid'] ? o['virtualmachineid'] : undefined,
    deviceid: numberOf(o['deviceid']),
    vmstate: typeof o['vmstate'] === 'string' ? o['vmstate'] : undefined,
  };
}

function vmOf(value: unknown): Vm | undefined {
  const o = asObject(value);
  if (!o || typeof o['id'] !== 'string' || typeof o['state'] !== 'string') return undefined;
  return { id: o['id'], state: o['state'] };
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
