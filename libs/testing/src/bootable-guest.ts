import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '@ferry/platform';
import { probeKvm } from '@ferry/qemu';

/** What the guest's init prints once it has mounted its root filesystem. */
export const BOOT_OK_MARKER = 'FERRY-BOOT-OK';
/** Printed after BOOT_OK_MARKER when the root's `mount -a` mounted every line of its /etc/fstab. */
export const FSTAB_OK_MARKER = 'FERRY-FSTAB-OK';
/** Printed after BOOT_OK_MARKER when the root's `mount -a` failed (a VMware by-path device on KVM). */
export const FSTAB_FAIL_MARKER = 'FERRY-FSTAB-FAIL';
/** The guest's last word before it powers off: wait for this to see both markers. */
export const FSTAB_RESULT = /FERRY-FSTAB-(OK|FAIL)/;

export interface BootableGuestOptions {
  /**
   * What a guest brought from vSphere has and part 2 of a migration must fix (default true): fstab's
   * /data line by `/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1` (so mount -a fails on KVM),
   * /etc/vmware-tools/tools.conf and a /usr/bin/vmtoolsd stub, and ens192 in /etc/network/interfaces
   * pinned to `vmwareMac` by /etc/udev/rules.d/70-persistent-net.rules. Without: /data by UUID.
   */
  vmwareTraits?: boolean;
  /** File name in `dir`; default `bootable-guest.raw`. */
  name?: string;
}

export interface BootableGuest {
  /** The raw image: the test's own copy. */
  path: string;
  /** ext4 root (partition 2), named by `root=UUID=` on the kernel command line and in fstab. */
  rootUuid: string;
  /** ext4 data filesystem (partition 3), mounted at /data: the UUID a fixed fstab names. */
  dataUuid: string;
  /** FAT volume id of the boot partition (partition 1: syslinux, kernel, initramfs). */
  bootUuid: string;
  /** 64 MiB. */
  sizeBytes: number;
  /** The root's /etc/fstab as built. */
  fstab: string;
  /** The MBR partitions, in order. */
  partitions: { number: number; startBytes: number; sizeBytes: number; filesystem: 'vfat' | 'ext4' }[];
  /** `linux-image-<abi>-cloud-amd64 <version>`. */
  kernel: string;
  /** The modules the initramfs loads, in order (`virtio_ring.ko`, …, `ata_piix.ko`). */
  modules: string[];
  vmwareTraits: boolean;
  /** The NIC's MAC in the udev rule (`00:50:56:…`), with vmwareTraits. */
  vmwareMac?: string;
  /**
   * The interface its /etc/network/interfaces brings up by DHCP when the VM has a NIC: `eth0`, or
   * `ens192` with vmwareTraits (which only a NIC with `vmwareMac` becomes). See guest-network.ts.
   */
  dhcpInterface: string;
}

type CachedGuest = Omit<BootableGuest, 'path'> & { dir: string };
/** tools/build-boot-guest.sh's guest.json. */
type GuestJson = Omit<BootableGuest, 'path' | 'fstab' | 'modules' | 'vmwareMac'> & {
  modules: string;
  vmwareMac: string;
};

const BUILD_TIMEOUT_MS = 600_000;
const QEMU = 'qemu-system-x86_64';
/** Console text kept per boot: a guest stuck in a loop must not fill the test's memory. */
const MAX_CONSOLE_CHARS = 1024 * 1024;

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'tools', 'build-boot-guest.sh'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('cannot find the repository root');
  return findRoot(parent);
}

const built = new Map<boolean, Promise<CachedGuest>>();

/**
 * tools/build-boot-guest.sh builds the image into the cache (or finds it there) once per process and
 * variant; the script's lock makes concurrent workers build it once per machine.
 */
function cachedGuest(vmwareTraits: boolean): Promise<CachedGuest> {
  let guest = built.get(vmwareTraits);
  if (!guest) {
    guest = (async () => {
      const script = join(findRoot(__dirname), 'tools', 'build-boot-guest.sh');
      const out = await runCommand(
        'bash',
        [script, ...(vmwareTraits ? ['--vmware-traits'] : [])],
        BUILD_TIMEOUT_MS,
      );
      const dir = out.trim().split('\n').pop() ?? '';
      const meta = JSON.parse(await readFile(join(dir, 'guest.json'), 'utf8')) as GuestJson;
      const fstab = await readFile(join(dir, 'fstab'), 'utf8');
      return {
        ...meta,
        modules: meta.modules.split(' '),
        vmwareMac: meta.vmwareMac || undefined,
        dir,
        fstab,
      };
    })();
    guest.catch(() => built.delete(vmwareTraits));
    built.set(vmwareTraits, guest);
  }
  return guest;
}

/**
 * Builds (or takes from the cache) the bootable test guest and copies it to `dir`: a fresh copy per
 * test, because booting it writes to it. A 64 MiB MBR disk of Debian packages only: syslinux on a FAT
 * boot partition, the kernel of linux-image-cloud-amd64, an initramfs of busybox-static whose init
 * mounts the root by UUID, runs the root's `mount -a`, prints BOOT_OK_MARKER and FSTAB_OK_MARKER or
 * FSTAB_FAIL_MARKER on ttyS0 and powers off; with a NIC it brings up `dhcpInterface` by DHCP instead,
 * prints NET_OK_MARKER or NET_FAIL_MARKER and stays up. About 5 s the first time on a machine, then a copy.
 */
export async function buildBootableGuest(
  dir: string,
  options: BootableGuestOptions = {},
): Promise<BootableGuest> {
  const { dir: cacheDir, ...guest } = await cachedGuest(options.vmwareTraits ?? true);
  await mkdir(dir, { recursive: true });
  const path = join(dir, options.name ?? 'bootable-guest.raw');
  // A reflink where the filesystem has them, else a plain copy.
  await copyFile(join(cacheDir, 'disk.raw'), path, constants.COPYFILE_FICLONE);
  return { ...guest, path };
}

export interface BootImage {
  path: string;
  format: 'raw' | 'qcow2';
  /** virtio-blk (default), virtio-scsi, or the i440fx machine's PIIX IDE. */
  bus?: 'virtio' | 'scsi' | 'ide';
  /**
   * A virtio NIC with this MAC on QEMU's user-mode network (its DHCP server leases 10.0.2.15): the
   * guest then brings up its network and stays up instead of powering off. None by default.
   */
  nicMac?: string;
}

const TCG = ['-accel', 'tcg'];
const KVM = ['-accel', 'kvm', '-cpu', 'host'];
let accel: Promise<string[]> | undefined;

/** KVM when it really boots this guest here, else TCG; FERRY_BOOT_ACCEL=tcg|kvm decides instead. */
function accelerator(): Promise<string[]> {
  accel ??= chooseAccelerator();
  accel.catch(() => (accel = undefined));
  return accel;
}

async function chooseAccelerator(): Promise<string[]> {
  const forced = process.env['FERRY_BOOT_ACCEL'];
  if (forced === 'tcg' || forced === 'kvm') return forced === 'kvm' ? KVM : TCG;
  if ((await probeKvm(QEMU, 15_000)) !== undefined) return TCG;
  // probeKvm's paused guest is not enough either: under some nested hypervisors (this project's CI)
  // KVM starts SeaBIOS, slowly, then stops on "KVM internal error ... emulation failure" in syslinux
  // and QEMU waits forever. So the guest itself boots once under KVM (about a second where KVM works),
  // and the verdict is kept beside the cached image per host kernel, CPU and QEMU.
  const guest = await cachedGuest(false);
  const qemuVersion = await runCommand(QEMU, ['--version'], 10_000);
  const key = createHash('sha256')
    .update([release(), cpus()[0]?.model ?? '', qemuVersion, guest.dir].join('\n'))
    .digest('hex')
    .slice(0, 16);
  const verdict = join(dirname(guest.dir), `boot-accel-${key}`);
  const known = await readFile(verdict, 'utf8').catch(() => '');
  if (known === 'kvm' || known === 'tcg') return known === 'kvm' ? KVM : TCG;
  const image = { path: join(guest.dir, 'disk.raw'), format: 'raw' as const };
  // QEMU may also exit with an error under KVM: that too means TCG.
  const { matched } = await boot(KVM, image, FSTAB_RESULT, 10_000, true).catch(() => ({ matched: false }));
  const tmp = `${verdict}.${process.pid}`;
  await writeFile(tmp, matched ? 'kvm' : 'tcg');
  await rename(tmp, verdict);
  return matched ? KVM : TCG;
}

function diskArgs(image: BootImage, snapshot: boolean): string[] {
  // QEMU's option syntax doubles a comma inside a value.
  const file = `file=${image.path.replace(/,/g, ',,')},format=${image.format}${snapshot ? ',snapshot=on' : ''}`;
  const bus = image.bus ?? 'virtio';
  switch (bus) {
    case 'virtio':
      return ['-drive', `${file},if=virtio`];
    case 'scsi':
      return [
        '-device',
        'virtio-scsi-pci,id=scsi0',
        '-drive',
        `${file},if=none,id=disk0`,
        '-device',
        'scsi-hd,drive=disk0,bus=scsi0.0',
      ];
    case 'ide':
      return ['-drive', `${file},if=ide`];
    default: {
      const never: never = bus;
      throw new Error(`unknown bus ${String(never)}`);
    }
  }
}

/**
 * Boots an image under QEMU (TCG unless KVM really works) with the serial console on stdout, until
 * `marker` appears (then QEMU is killed), the guest powers off or resets (`-no-reboot`; SeaBIOS resets
 * a second after it finds nothing to boot), or `timeoutMs` passes; resolves the console text (without
 * carriage returns). Rejects only when QEMU itself fails (a bad option, a missing image).
 */
export async function bootToMarker(
  image: BootImage,
  marker: RegExp,
  timeoutMs: number,
): Promise<{ console: string; matched: boolean }> {
  return boot(await accelerator(), image, marker, timeoutMs, false);
}

/** One boot; `snapshot` keeps the guest's writes out of the image. */
function boot(
  accelArgs: string[],
  image: BootImage,
  marker: RegExp,
  timeoutMs: number,
  snapshot: boolean,
): Promise<{ console: string; matched: boolean }> {
  const args = [...accelArgs, '-machine', 'pc', '-m', '256', '-nodefaults', '-no-user-config'];
  args.push('-display', 'none', '-serial', 'stdio', '-no-reboot', '-boot', 'reboot-timeout=1000');
  args.push(...diskArgs(image, snapshot));
  // romfile= : no iPXE option ROM, which QEMU refuses to start without when ipxe-qemu is missing.
  // restrict=on: DHCP from QEMU, and nothing past it (a converted guest's first boot may try a mirror).
  if (image.nicMac)
    args.push(
      '-netdev',
      'user,id=net0,restrict=on',
      '-device',
      `virtio-net-pci,netdev=net0,mac=${image.nicMac},romfile=`,
    );
  // A /g or /y pattern's test() would carry lastIndex from one chunk to the next.
  const pattern = new RegExp(marker.source, marker.flags.replace(/[gy]/g, ''));
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    let matched = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text = (text + chunk.replace(/\r/g, '')).slice(-MAX_CONSOLE_CHARS);
      if (!matched && pattern.test(text)) {
        matched = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-64 * 1024)));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (!matched && !timedOut && code !== 0) {
        reject(new Error(`${QEMU} ${args.join(' ')} exited with ${code}:\n${stderr}`));
      } else {
        resolve({ console: text, matched });
      }
    });
  });
}
