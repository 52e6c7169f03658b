import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCommand } from '@ferry/platform';

/**
 * The Debian test guest (tools/build-debian-guest.sh): a debootstrapped Debian 12 with a real
 * kernel, GRUB and systemd, set up as a vSphere guest has it. Its ferry-boot-markers.service prints
 * BOOT_OK_MARKER, FSTAB_OK_MARKER or FSTAB_FAIL_MARKER (bootable-guest.ts) and one NET_OK_MARKER or
 * NET_FAIL_MARKER line per DHCP interface (guest-network.ts) on ttyS0, then the guest stays up.
 */
export interface DebianGuest {
  /** The raw image: the test's own copy (sparse). */
  path: string;
  format: 'raw';
  /** ext4 root (partition 1), `UUID=` in fstab and `root=UUID=` on the kernel command line. */
  rootUuid: string;
  /** ext4 data filesystem (partition 2), mounted at /data by `dataByPath`. */
  dataUuid: string;
  /** `/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2`: a VMware pvscsi path, absent on KVM. */
  dataByPath: string;
  /** 1.5 GiB. */
  sizeBytes: number;
  /** `6.1.0-50-amd64`: the kernel release in /boot. */
  kernel: string;
  hostname: string;
  /** The MAC its udev rule renames to ens192 (`00:50:56:a1:2b:3c`): give the VM's NIC this one. */
  vmwareMac: string;
  /** The interface its /etc/network/interfaces brings up by DHCP. */
  dhcpInterface: 'ens192';
  /** The root's /etc/fstab as built. */
  fstab: string;
  partitions: {
    number: number;
    startBytes: number;
    sizeBytes: number;
    filesystem: 'ext4';
    mountpoint: string;
  }[];
  /** How long the cached build took, in seconds (debootstrap, initramfs, grub, total). */
  buildSeconds: Record<'debootstrap' | 'initramfs' | 'grub' | 'total', number>;
}

type GuestJson = Omit<DebianGuest, 'path' | 'format' | 'fstab' | 'dhcpInterface'>;

/** A cold build takes about 5 min here (debootstrap, an initramfs, GRUB under TCG); ensure-infra does it. */
const BUILD_TIMEOUT_MS = 1_200_000;
const COPY_TIMEOUT_MS = 120_000;

function findRoot(dir: string): string {
  if (existsSync(join(dir, 'tools', 'build-debian-guest.sh'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('cannot find the repository root');
  return findRoot(parent);
}

let built: Promise<GuestJson & { dir: string; fstab: string }> | undefined;

/** The cached image's directory: built once per machine (the script's lock), asked once per process. */
function cachedDebianGuest(): Promise<GuestJson & { dir: string; fstab: string }> {
  built ??= (async () => {
    const script = join(findRoot(__dirname), 'tools', 'build-debian-guest.sh');
    const out = await runCommand('bash', [script], BUILD_TIMEOUT_MS);
    const dir = out.trim().split('\n').pop() ?? '';
    const meta = JSON.parse(await readFile(join(dir, 'guest.json'), 'utf8')) as GuestJson;
    return { ...meta, dir, fstab: await readFile(join(dir, 'fstab'), 'utf8') };
  })();
  built.catch(() => (built = undefined));
  return built;
}

/**
 * Builds (or takes from the cache) the Debian test guest and copies it to `dir` (sparse: about
 * 700 MB of its 1.5 GiB are data), a fresh copy per test because converting or booting it writes to
 * it. Needs root (debootstrap) the first time on a machine; tools/ensure-infra.sh builds it.
 */
export async function buildDebianGuest(dir: string, name = 'debian-guest.raw'): Promise<DebianGuest> {
  const { dir: cacheDir, ...guest } = await cachedDebianGuest();
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  // cp keeps the holes (Node's copyFile writes them out where the filesystem cannot reflink).
  await runCommand(
    'cp',
    ['--reflink=auto', '--sparse=always', join(cacheDir, 'disk.raw'), path],
    COPY_TIMEOUT_MS,
  );
  return { ...guest, path, format: 'raw', dhcpInterface: 'ens192' };
}
