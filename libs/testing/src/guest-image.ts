import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '@ferry/platform';

export interface GuestImageOptions {
  /** Directory the image is written to (the test's own temporary directory). */
  dir: string;
  /** File name without extension; default `guest`. */
  name?: string;
  /** Default qcow2. */
  format?: 'qcow2' | 'raw';
  /** An EFI system partition (vfat, mounted at /boot/efi by UUID) before the root; default false. */
  uefi?: boolean;
  /** fstab names the root by `/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part<n>` (default) or `UUID=`. */
  rootSpec?: 'by-path' | 'uuid';
  /** `/usr/bin/vmtoolsd` and `/etc/vmware-tools/` as open-vm-tools installs them; default false. */
  vmwareTools?: boolean;
  /** Default `ferry-guest`. */
  hostname?: string;
  /** More files of the root filesystem, by absolute path. */
  files?: Record<string, string>;
  /** Size of the root filesystem; default 64 MiB. */
  rootSizeMiB?: number;
}

export interface GuestImage {
  path: string;
  format: 'qcow2' | 'raw';
  virtualSizeBytes: number;
  /** The GPT partitions, in order: the ESP first when there is one. */
  partitions: { number: number; startBytes: number; sizeBytes: number; typeGuid: string }[];
  rootUuid: string;
  /** The ESP's vfat volume id (`1234-ABCD`), when there is one. */
  espUuid?: string;
  /** The fstab the image holds. */
  fstab: string;
}

const MIB = 1024 * 1024;
const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX_TYPE = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
export const TEST_ROOT_UUID = '5e0f2a4c-1d3b-4c7a-9f21-7a6b8c9d0e1f';
export const TEST_ESP_UUID = '1234-ABCD';
const TIMEOUT_MS = 60_000;

/** mkfs.ext4 and sfdisk live in /usr/sbin, which a non-root PATH often lacks. */
function tool(name: string): string {
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return name;
}

/**
 * What libguestfs's inspection needs to call a root filesystem Debian 12: /etc/os-release (with
 * /etc/debian_version for the minor version) and a /bin; /etc/fstab for the mountpoints.
 */
function debianFiles(options: GuestImageOptions, fstab: string): Record<string, string> {
  const files: Record<string, string> = {
    '/etc/os-release': [
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
      'NAME="Debian GNU/Linux"',
      'VERSION_ID="12"',
      'VERSION="12 (bookworm)"',
      'VERSION_CODENAME=bookworm',
      'ID=debian',
      '',
    ].join('\n'),
    '/etc/debian_version': '12.5\n',
    '/etc/hostname': `${options.hostname ?? 'ferry-guest'}\n`,
    '/etc/fstab': fstab,
    '/var/lib/dpkg/status': '',
  };
  if (options.vmwareTools) {
    files['/usr/bin/vmtoolsd'] = '';
    files['/etc/vmware-tools/tools.conf'] = '';
  }
  return { ...files, ...options.files };
}

/**
 * Builds a bootless Debian 12 disk image for inspection tests, without root and without the
 * libguestfs appliance: the root filesystem with `mkfs.ext4 -d` from a directory, an optional ESP with
 * `mkfs.vfat -C` and `mcopy`, a GPT written by `sfdisk` on a plain file, the filesystems copied in at
 * their offsets with `dd conv=notrunc`, and `qemu-img convert` to qcow2. About half a second.
 */
export async function buildGuestImage(options: GuestImageOptions): Promise<GuestImage> {
  const name = options.name ?? 'guest';
  const format = options.format ?? 'qcow2';
  const work = await mkdtemp(join(tmpdir(), 'ferry-guest-image-'));
  try {
    const rootSize = (options.rootSizeMiB ?? 64) * MIB;
    const espSize = options.uefi ? 32 * MIB : 0;
    const parts = [
      ...(options.uefi ? [{ type: ESP_TYPE, start: MIB, size: espSize, name: 'EFI System' }] : []),
      { type: LINUX_TYPE, start: MIB + espSize, size: rootSize, name: 'root' },
    ];
    const rootNumber = parts.length;
    const rootSpec =
      (options.rootSpec ?? 'by-path') === 'by-path'
        ? `/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part${rootNumber}`
        : `UUID=${TEST_ROOT_UUID}`;
    const fstab = [
      '# /etc/fstab: static file system information.',
      `${rootSpec} / ext4 errors=remount-ro 0 1`,
      ...(options.uefi ? [`UUID=${TEST_ESP_UUID} /boot/efi vfat umask=0077 0 1`] : []),
      '',
    ].join('\n');

    const tree = join(work, 'root');
    for (const [path, content] of Object.entries(debianFiles(options, fstab))) {
      await mkdir(dirname(join(tree, path)), { recursive: true });
      await writeFile(join(tree, path), content);
    }
    for (const dir of ['/usr/sbin', '/var/tmp', '/tmp', '/root', '/home', '/boot/efi', '/lib']) {
      await mkdir(join(tree, dir), { recursive: true });
    }
    // libguestfs reads the guest's architecture from an ELF binary such as /bin/ls: the host's will do.
    await mkdir(join(tree, 'bin'), { recursive: true });
    await copyFile('/bin/ls', join(tree, 'bin/ls'));
    await chmod(join(tree, 'bin/ls'), 0o755);

    const rootFs = join(work, 'root.ext4');
    await writeFile(rootFs, '');
    await runCommand('truncate', ['-s', String(rootSize), rootFs], TIMEOUT_MS);
    const mkfs = [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-U',
      TEST_ROOT_UUID,
      '-L',
      'root',
      '-E',
      'root_owner=0:0',
      '-d',
      tree,
    ];
    await runCommand(tool('mkfs.ext4'), [...mkfs, rootFs], TIMEOUT_MS);

    const raw = join(work, 'disk.raw');
    const diskSize = MIB + espSize + rootSize + MIB; // the backup GPT takes the last 33 sectors
    await runCommand('truncate', ['-s', String(diskSize), raw], TIMEOUT_MS);
    const script = [
      'label: gpt',
      ...parts.map((p) => `start=${p.start / 512}, size=${p.size / 512}, type=${p.type}, name="${p.name}"`),
      '',
    ].join('\n');
    await runCommand(tool('sfdisk'), ['-q', raw], TIMEOUT_MS, script);

    const images = [{ file: rootFs, start: MIB + espSize }];
    if (options.uefi) {
      const esp = join(work, 'esp.vfat');
      const volumeId = TEST_ESP_UUID.replace('-', '');
      await runCommand(
        tool('mkfs.vfat'),
        ['-C', '-i', volumeId, '-n', 'EFI', esp, String(espSize / 1024)],
        TIMEOUT_MS,
      );
      const efi = join(work, 'EFI');
      await mkdir(join(efi, 'debian'), { recursive: true });
      await writeFile(join(efi, 'debian', 'grubx64.efi'), '');
      await runCommand('mcopy', ['-s', '-i', esp, efi, '::/'], TIMEOUT_MS);
      images.unshift({ file: esp, start: MIB });
    }
    for (const image of images) {
      const dd = [
        `if=${image.file}`,
        `of=${raw}`,
        'bs=512',
        `seek=${image.start / 512}`,
        'conv=notrunc',
        'status=none',
      ];
      await runCommand('dd', dd, TIMEOUT_MS);
    }

    await mkdir(options.dir, { recursive: true });
    const path = join(options.dir, `${name}.${format}`);
    await runCommand('qemu-img', ['convert', '-f', 'raw', '-O', format, raw, path], TIMEOUT_MS);
    return {
      path,
      format,
      virtualSizeBytes: diskSize,
      partitions: parts.map((p, i) => ({
        number: i + 1,
        startBytes: p.start,
        sizeBytes: p.size,
        typeGuid: p.type,
      })),
      rootUuid: TEST_ROOT_UUID,
      ...(options.uefi ? { espUuid: TEST_ESP_UUID } : {}),
      fstab,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** An empty disk (no partition table, no filesystem), as a VM's new data disk is. */
export async function buildBlankImage(dir: string, name = 'blank', sizeMiB = 16): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.qcow2`);
  await runCommand('qemu-img', ['create', '-q', '-f', 'qcow2', path, `${sizeMiB}M`], TIMEOUT_MS);
  return path;
}
