import { createHash } from 'node:crypto';
import type { AttachedDeviceDto, VmNicModel } from '@ferry/contracts';
import { isUnicastMac } from '@ferry/contracts';
/** Ids and names that end up in paths and on QEMU's command line. */
export const SAFE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** QEMU machine types we accept from templates, e.g. `q35`, `pc`, `pc-q35-7.2`. */
export const MACHINE_TYPE = /^[a-z0-9][a-z0-9.-]{0,31}$/;

export type Accelerator = 'kvm' | 'tcg';

/** A disk QEMU opens at start (cold-plugged) or hot-plugs later. */
export interface DiskSpec {
  /** Device id, also the QMP node name suffix and the SCSI serial. */
  deviceId: string;
  /** Absolute path of the image file. */
  path: string;
  format: 'qcow2' | 'raw';
  readOnly: boolean;
}

/** A NIC QEMU gives the guest, and the host side of it. */
export interface NicSpec {
  /** Unicast, lower case. */
  mac: string;
  model: VmNicModel;
  /** `tap`: a persistent tap on the bridge (bridge mode); `user`: QEMU's user-mode network (slirp). */
  backend: { type: 'tap'; ifname: string } | { type: 'user' };
}

export interface VmSpec {
  id: string;
  cpuCount: number;
  ramMiB: number;
  machine: string;
  disks: DiskSpec[];
  /** In order: the guest sees NIC i as PCI function `nic<i>`. None when absent. */
  nics?: NicSpec[];
}

export interface RuntimePaths {
  dir: string;
  qmpSocket: string;
  /**
   * A second QMP monitor for observers (the observer service, tests): QEMU serves one client per
   * monitor, and vm-operator keeps the first one open.
   */
  auxQmpSocket: string;
  pidFile: string;
  logFile: string;
  /**
   * The guest's serial console (ttyS0), as QEMU writes it: a start moves the last one to
   * `serial.log.1` and QEMU begins a fresh file. It grows without limit while the VM runs.
   */
  serialLog: string;
}

export function assertSafeId(kind: string, value: string): void {
  if (!SAFE_ID.test(value))
    throw new Error(`invalid ${kind} "${value}": lowercase letters, digits and "-", 1-63 chars`);
}

/** QMP node name of a disk's block backend. */
export function nodeName(deviceId: string): string {
  return blockNodeName('drive', deviceId);
}

/** QEMU refuses block node names longer than 31 characters ("Node name too long"). */
const MAX_NODE_NAME = 31;

/** `<prefix>-<device id>`, or `<prefix>-h<hash>` when that would be too long (a UUID is). */
function blockNodeName(prefix: string, deviceId: string): string {
  const plain = `${prefix}-${deviceId}`;
  if (plain.length <= MAX_NODE_NAME) return plain;
  const room = MAX_NODE_NAME - prefix.length - 2;
  return `${prefix}-h${createHash('sha256').update(deviceId).digest('hex').slice(0, room)}`;
}

/** QMP node name of a disk's snapshot overlay while a live snapshot exists. */
export function overlayNodeName(deviceId: string): string {
  return blockNodeName('overlay', deviceId);
}

/** SCSI serial: QEMU allows 36 characters; the guest sees it under /dev/disk/by-id. */
export function serialOf(deviceId: string): string {
  return deviceId.replace(/-/g, '').slice(0, 20);
}

/** The block backend of a disk, for `-blockdev` (as JSON, which keeps commas in paths intact) and `blockdev-add`. */
export function blockdevOptions(disk: DiskSpec): Record<string, unknown> {
  return {
    driver: disk.format,
    'node-name': nodeName(disk.deviceId),
    'read-only': disk.readOnly,
    file: { driver: 'file', filename: disk.path, 'read-only': disk.readOnly },
  };
}

/** Where a disk sits on the VM's SCSI bus, and the path the guest sees it under (the contract's shape). */
export type ScsiAddress = Omit<AttachedDeviceDto, 'live'>;

/** Where a Linux guest finds the disk: udev names SCSI disks by vendor, product and serial. */
export function byIdPathOf(deviceId: string): string {
  return `/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_${serialOf(deviceId)}`;
}

export function scsiAddress(deviceId: string, scsiId: number): ScsiAddress {
  return {
    deviceId,
    bus: 'scsi0.0',
    scsiId,
    lun: 0,
    serial: serialOf(deviceId),
    byIdPath: byIdPathOf(deviceId),
  };
}

/** The SCSI disk front end, for `-device` and `device_add`. */
export function scsiDeviceProps(deviceId: string, scsiId: number): Record<string, string | number> {
  return {
    driver: 'scsi-hd',
    bus: 'scsi0.0',
    'scsi-id': scsiId,
    lun: 0,
    drive: nodeName(deviceId),
    id: deviceId,
    serial: serialOf(deviceId),
  };
}

/** A tap's name as QEMU takes it in `ifname=`: a Linux interface name. */
const TAP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

/**
 * `-netdev` and `-device` of NIC `i`. `romfile=` leaves out the option ROM that QEMU otherwise loads
 * for virtio-net-pci (iPXE's efi-virtio.rom, for network boot): without Debian's ipxe-qemu package
 * QEMU refuses to start ("failed to find romfile"), and a VM boots from its disks anyway.
 * The tap is opened, never created, by QEMU (`script=no`): vm-operator makes it and puts it on the
 * bridge, so QEMU needs no privilege for it and the tap outlives QEMU.
 */
export function nicArgs(nic: NicSpec, i: number): string[] {
  if (!isUnicastMac(nic.mac)) throw new Error(`invalid MAC "${nic.mac}"`);
  let netdev: string;
  switch (nic.backend.type) {
    case 'tap':
      if (!TAP_NAME.test(nic.backend.ifname)) throw new Error(`invalid tap name "${nic.backend.ifname}"`);
      netdev = `tap,id=net${i},ifname=${nic.backend.ifname},script=no,downscript=no`;
      break;
    case 'user':
      netdev = `user,id=net${i}`;
      break;
    default: {
      const never: never = nic.backend;
      throw new Error(`unknown NIC backend ${JSON.stringify(never)}`);
    }
  }
  return ['-netdev', netdev, '-device', `${nic.model},netdev=net${i},mac=${nic.mac},id=nic${i},romfile=`];
}

/** QEMU's option syntax (`-chardev a=b,c=d`) reads a doubled comma as a comma of the value. */
function optionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * The whole command line of one VM, as an argument array (never through a shell). QEMU daemonizes
 * itself (it forks, calls setsid and writes the pid file), so VMs outlive vm-operator.
 */
export function qemuArgs(spec: VmSpec, paths: RuntimePaths, accel: Accelerator): string[] {
  assertSafeId('VM id', spec.id);
  if (!MACHINE_TYPE.test(spec.machine)) throw new Error(`invalid machine type "${spec.machine}"`);
  const args = [
    '-name',
    `ferry-${spec.id},process=ferry-${spec.id}`,
    '-nodefaults',
    '-no-user-config',
    '-machine',
    `${spec.machine},accel=${accel}`,
    '-cpu',
    accel === 'kvm' ? 'host' : 'max',
    '-smp',
    String(spec.cpuCount),
    '-m',
    `${spec.ramMiB}M`,
    '-display',
    'none',
    // A VGA card no one looks at: a guest migrated from vSphere boots through GRUB, which with its
    // default terminal stalls before the kernel in a VM that has no video device at all.
    '-vga',
    'std',
    // ttyS0 goes to a file that outlives QEMU, so the console of a guest that powered off or crashed
    // can still be read. `file` truncates on open: serial.log is this boot's console only.
    '-chardev',
    `file,id=serial0,path=${optionValue(paths.serialLog)}`,
    '-serial',
    'chardev:serial0',
    '-monitor',
    'none',
    '-qmp',
    `unix:${paths.qmpSocket},server=on,wait=off`,
    '-qmp',
    `unix:${paths.auxQmpSocket},server=on,wait=off`,
    '-pidfile',
    paths.pidFile,
    '-D',
    paths.logFile,
    '-daemonize',
    // Every VM gets a SCSI controller: SCSI hot-unplug completes without guest help, PCI's does not.
    '-device',
    'virtio-scsi-pci,id=scsi0',
  ];
  spec.disks.forEach((disk, i) => {
    assertSafeId('device id', disk.deviceId);
    args.push('-blockdev', JSON.stringify(blockdevOptions(disk)));
    const { driver, ...props } = scsiDeviceProps(disk.deviceId, i);
    args.push('-device', [driver, ...Object.entries(props).map(([k, v]) => `${k}=${v}`)].join(','));
  });
  (spec.nics ?? []).forEach((nic, i) => args.push(...nicArgs(nic, i)));
  return args;
}
