import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { IsResourceId } from '../common/resource-id';
import type { VmState } from '../vms/vm.dto';

/**
 * Device ids end up in QMP ids and QEMU options: lowercase letters, digits and "-", 1–63 chars,
 * starting with a letter (QEMU refuses a qdev id that does not: "expects an identifier").
 */
export const DEVICE_ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
/** An absolute path without NUL, commas or newlines (it is passed to QEMU). */
export const IMAGE_PATH_PATTERN = /^\/[^\0\n,]{1,4095}$/;

/** Request of `vm-operator.device.attach` (for volume-daemon). */
export class AttachDeviceRequest {
  /** VM id (Ferry's are UUIDs; another id is NOT_FOUND). */
  @IsResourceId()
  vmId!: string;
  /** Stable id of the device; also its QMP id and, without dashes, its SCSI serial. */
  @Matches(DEVICE_ID_PATTERN, {
    message: 'deviceId must be 1-63 lowercase letters, digits or "-", starting with a letter',
  })
  deviceId!: string;
  /**
   * Absolute path of the image file on the VM's host. vm-operator refuses (VALIDATION) one that is not
   * under its VM_STORAGE_DIRS once symlinks are followed.
   */
  @Matches(IMAGE_PATH_PATTERN, { message: 'path must be absolute, without commas or newlines' })
  path!: string;
  @IsIn(['qcow2', 'raw'])
  format!: 'qcow2' | 'raw';
  @IsBoolean()
  readOnly!: boolean;
}

/** Request of `vm-operator.device.detach`, `.snapshot` and `.consolidate`. */
export class DeviceRefRequest {
  @IsResourceId()
  vmId!: string;
  @Matches(DEVICE_ID_PATTERN, {
    message: 'deviceId must be 1-63 lowercase letters, digits or "-", starting with a letter',
  })
  deviceId!: string;
  /** Deadline of the QEMU side (guest release on detach, the commit job on consolidate), in ms; default 10000. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(120_000)
  timeoutMs?: number;
}

/** Request of `vm-operator.device.list` and `vm-operator.vm.power-state`. */
export class VmDevicesRequest {
  @IsResourceId()
  vmId!: string;
}

export interface AttachedDeviceDto {
  deviceId: string;
  /** SCSI bus, e.g. `scsi0.0`. */
  bus: string;
  scsiId: number;
  lun: number;
  serial: string;
  /** What the guest sees, e.g. `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_<serial>`. */
  byIdPath: string;
  /** true when plugged into a running VM; false when recorded for the next start (cold-plug). */
  live: boolean;
}

export interface DeviceDto {
  deviceId: string;
  /** What the guest sees (see AttachedDeviceDto). */
  byIdPath: string;
  path: string;
  format: string;
  readOnly: boolean;
}

export interface DeviceListDto {
  vmId: string;
  /** `qmp` when the VM runs (what QEMU reports), `record` when it is stopped (what it will start with). */
  source: 'qmp' | 'record';
  items: DeviceDto[];
}

export interface PowerStateDto {
  vmId: string;
  /** The recorded state. */
  state: VmState;
  /** What QEMU says now: true only when its process runs and QMP reports it running. */
  running: boolean;
  pid: number | null;
}

/** Reply of `vm-operator.device.snapshot`: read `imagePath`, which stays frozen until consolidate. */
export interface SnapshotDto {
  vmId: string;
  deviceId: string;
  imagePath: string;
  /** Where writes go meanwhile; removed by consolidate. */
  overlayPath: string;
  /** true when taken on a running VM through QMP; false when made with qemu-img on a stopped one. */
  live: boolean;
}
