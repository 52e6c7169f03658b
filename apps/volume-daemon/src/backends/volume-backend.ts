/**
 * What volume-daemon needs from the place its disks live. Two implementations: `local` (qcow2 files
 * made with qemu-img, attached through vm-operator's device primitives) and `cloudstack` (volumes and
 * VMs of a CloudStack cloud). The daemon owns records, locking, fencing and recovery; a backend only
 * does the outside-world side effect, and every method is idempotent so that a recovered operation can
 * run it again:
 *  - `deleteDisk` of a disk that is gone, and `detach` of a disk that is not attached, succeed;
 *  - `attach` of a disk that is already attached to that VM returns its correlation.
 * Errors are `FerryError`s: NOT_FOUND (unknown VM or volume), CONFLICT (the VM or volume is busy),
 * TIMEOUT, UNAVAILABLE (the backend cannot be reached), INTERNAL.
 */
export interface VolumeBackend {
  readonly kind: BackendKind;
  createDisk(spec: DiskSpec): Promise<ProvisionedDisk>;
  deleteDisk(disk: DiskRef): Promise<void>;
  attach(disk: DiskRef, vmId: string): Promise<DeviceCorrelation>;
  detach(disk: DiskRef, vmId: string, timeoutMs: number): Promise<void>;
  /** The disk's device on the VM as the hypervisor reports it now; null when it is not attached. */
  findAttachment(disk: DiskRef, vmId: string): Promise<DeviceCorrelation | null>;
  powerState(vmId: string): Promise<VmPower>;
  /** Forces the VM off and waits until it is off; TIMEOUT after `timeoutMs`. */
  powerOff(vmId: string, timeoutMs: number): Promise<VmPower>;
  /** Deletes (destroys and expunges) the VM; a VM that is already gone succeeds. */
  deleteVm(vmId: string): Promise<void>;
  /** Present when the backend's images are files on this host, which an import writes. */
  readonly importTarget?: ImportTarget;
}

/** Where an import writes a disk's image (qemu-img writes it; the backend owns the place). */
export interface ImportTarget {
  /** The file of disk `id`, as `createDisk` would have made it. */
  pathOf(id: string, format: 'qcow2' | 'raw'): string;
  /** The directory the images are in (made if missing). */
  directory(): Promise<string>;
  /** Bytes free for new images there. */
  freeBytes(): Promise<number>;
}

export const BACKEND_KINDS = ['local', 'cloudstack'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface DiskSpec {
  /** Ferry's disk id (UUID). */
  id: string;
  name: string;
  sizeBytes: number;
  format: 'qcow2' | 'raw';
}

export interface ProvisionedDisk {
  /** The backend's handle: the file path (local) or the CloudStack volume id. */
  ref: string;
  /** The image file, when the backend has one on this host. */
  path: string | null;
  sizeBytes: number;
}

export interface DiskRef {
  id: string;
  ref: string;
  format: 'qcow2' | 'raw';
}

/** How the guest sees an attached disk: the seed's "device correlation". */
export interface DeviceCorrelation {
  /** The device's id on the hypervisor (the QMP id, or CloudStack's deviceid). */
  deviceId: string;
  /** Stable guest path, e.g. `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_<serial>` or `/dev/disk/by-id/virtio-<serial>`. */
  byIdPath: string;
  /** Where the hypervisor reports the device, e.g. `scsi0.0:3:0` or CloudStack's deviceid. */
  address: string;
  /** true when plugged into a running VM; false when recorded for the next start. */
  live: boolean;
}

export interface VmPower {
  vmId: string;
  /** The backend's own state name (vm-operator's state, or CloudStack's `Running`/`Stopped`/...). */
  state: string;
  /** true unless the VM is certainly off. */
  running: boolean;
}
