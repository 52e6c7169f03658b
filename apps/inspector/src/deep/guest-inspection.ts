import type { GuestFacts, GuestFileDto, PartitionTableFacts } from '@ferry/contracts';
import { planMounts, readGuestFiles } from '@ferry/guest';
import type { GuestfishOptions } from '@ferry/qemu';
import { GuestfishSession } from '@ferry/qemu';
import {
  diskOfPartition,
  parseBool,
  parseFstab,
  parseHash,
  parseList,
  parseString,
  parseVersion,
} from './guestfish-output';

export interface DeepDisk {
  deviceId: string;
  path: string;
  format: string;
  /** From the first pass: an EFI system partition on any disk means UEFI. */
  partitionTable: PartitionTableFacts | null;
}

/** A line of a boot configuration file that names a device by its `/dev/disk/by-path` link. */
export interface ByPathReference {
  file: string;
  line: string;
}

export interface GuestInspection {
  facts: GuestFacts;
  /** by-path links outside fstab: the kernel command line, crypttab, GRUB's configuration. */
  bootConfigByPath: ByPathReference[];
  /** The guest-fix planner's inputs (libs/guest `readGuestFiles`), only when asked for (`readFiles`). */
  files?: GuestFileDto[];
}

export interface InspectGuestsOptions {
  /**
   * Also read the files the guest fixes are planned from (libs/guest GUEST_FIX_FILES, at most about
   * 512 KiB) while each Linux guest is mounted, in the same appliance boot. Off by default: an
   * ordinary inspection run carries no file contents.
   */
  readFiles?: boolean;
}

/** Files read for `/dev/disk/by-path` links besides fstab (seed 001: boot cmdlines, crypttab, initramfs config). */
const BOOT_CONFIG_FILES = [
  '/etc/default/grub',
  '/boot/grub/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/etc/kernel/cmdline',
  '/etc/crypttab',
  '/etc/initramfs-tools/conf.d/resume',
];

/**
 * What shows VMware tools: open-vm-tools and VMware's own installer both install vmtoolsd and
 * /etc/vmware-tools; VMware's installer also /usr/lib/vmware-tools. Files, not the package database,
 * so that one check covers dpkg, rpm and tarball installs without listing applications.
 */
const VMWARE_TOOLS_FILES = ['/usr/bin/vmtoolsd', '/usr/sbin/vmtoolsd'];
const VMWARE_TOOLS_DIRS = ['/etc/vmware-tools', '/usr/lib/vmware-tools'];
const WINDOWS_VMWARE_TOOLS = '/Program Files/VMware/VMware Tools';

/** libguestfs's `inspect-get-*` calls read for each root. */
const INSPECT_GETTERS = [
  'type',
  'distro',
  'product-name',
  'major-version',
  'minor-version',
  'arch',
  'hostname',
  'package-format',
  'package-management',
  'mountpoints',
] as const;

/** blkid types that hold other block devices, not files: never mounted, never named by fstab. */
const CONTAINER_TYPES = new Set(['LVM2_member', 'linux_raid_member']);

/** Device names and mountpoints sent to guestfish unquoted: anything else is not mounted or read. */
const SAFE_DEVICE = /^\/dev\/[\w/.:+-]+$/;
const SAFE_PATH = /^\/[\w/.+@-]*$/;

/**
 * Inspects the guest on a VM's disks in one libguestfs appliance (one boot, about 15 s under TCG):
 * libguestfs's inspection API (what virt-inspector prints), then the root and every mountpoint it can
 * resolve mounted read-only, and /etc/fstab, VMware tools and by-path links read from them.
 *
 * Not virt-inspector itself: it mounts every fstab mountpoint and gives up on the whole guest
 * ("mount_ro: /dev/disk/by-path/…: No such file or directory") when one cannot be resolved, which
 * is exactly the guest seed 001 most wants to hear about; and it cannot show fstab as written.
 * Applications are not listed (the package database adds seconds); files show VMware tools instead.
 *
 * Returns one entry per operating system found, an empty list for disks without one.
 */
export async function inspectGuests(
  disks: DeepDisk[],
  options: GuestfishOptions,
  inspectOptions: InspectGuestsOptions = {},
): Promise<GuestInspection[]> {
  if (disks.length === 0) return [];
  const session = await GuestfishSession.start(disks, options);
  try {
    // Not `list-filesystems`: it probes every partition's type with parted, sfdisk and sgdisk (about
    // 2 s a partition under TCG), which inspect-os does again anyway; blkid, needed for the UUIDs,
    // names each filesystem's type as well.
    const [devices, partitions, mds, lvs, roots] = await session.run([
      'list-devices',
      'list-partitions',
      'list-md-devices',
      'lvs',
      'inspect-os',
    ]);
    const appliance = parseList(devices?.out ?? '');
    const candidates = [
      ...appliance,
      ...[partitions, mds, lvs].flatMap((r) => parseList(r?.out ?? '')),
    ].filter((d) => SAFE_DEVICE.test(d));
    const blkids = await session.run(candidates.map((device) => `blkid ${device}`));
    const fsFacts = candidates.flatMap((device, i) => {
      const tags = new Map(parseHash(blkids[i]?.out ?? ''));
      const type = tags.get('TYPE');
      if (!type || CONTAINER_TYPES.has(type)) return [];
      return [
        {
          device,
          type,
          uuid: tags.get('UUID') || null,
          label: tags.get('LABEL') || null,
          // The partition's own id (GPT GUID, or `<MBR id>-<NN>`): what PARTUUID= names.
          partuuid: tags.get('PART_ENTRY_UUID') || null,
        },
      ];
    });
    const known = fsFacts.map((f) => f.device);
    const guests: GuestInspection[] = [];
    for (const root of parseList(roots?.out ?? '').filter((r) => SAFE_DEVICE.test(r))) {
      const diskIndex = appliance.indexOf(diskOfPartition(root) ?? '');
      // An ESP on the root's disk means UEFI; a root on LVM may span disks: an ESP on any of them.
      const candidates = diskIndex >= 0 ? [disks[diskIndex]] : disks;
      const firmware = candidates.some((d) =>
        d?.partitionTable?.partitions.some((p) => p.kind === 'efi-system'),
      )
        ? 'uefi'
        : 'bios';
      const rootDiskId = disks[diskIndex]?.deviceId ?? null;
      const base = { root, rootDiskId, firmware, filesystems: fsFacts } as const;
      guests.push(await inspectRoot(session, base, new Set(known), inspectOptions));
    }
    return guests;
  } finally {
    await session.close();
  }
}

type RootBase = Pick<GuestFacts, 'root' | 'rootDiskId' | 'firmware' | 'filesystems'>;

async function inspectRoot(
  session: GuestfishSession,
  base: RootBase,
  devices: Set<string>,
  options: InspectGuestsOptions,
): Promise<GuestInspection> {
  const { root } = base;
  const answers = await session.run(INSPECT_GETTERS.map((g) => `inspect-get-${g} ${root}`));
  const get = (getter: (typeof INSPECT_GETTERS)[number]) =>
    answers[INSPECT_GETTERS.indexOf(getter)]?.out ?? '';
  const mountpoints = parseHash(get('mountpoints'))
    .map(([path, device]) => ({ device, path }))
    .sort((a, b) => a.path.localeCompare(b.path));
  const major = parseVersion(get('major-version'));
  const osType = parseString(get('type'));

  // Shorter paths first, so /boot is mounted before /boot/efi; by-path and other unresolvable specs
  // are left out (they are what virt-inspector fails on).
  const mounts = mountpoints
    .filter((m) => m.path !== '/' && devices.has(m.device) && SAFE_PATH.test(m.path))
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)
    .map((m) => `mount-ro ${m.device} ${m.path}`);
  const [rootMount] = await session.run([`mount-ro ${root} /`, ...mounts]);
  const mounted = rootMount?.errors.length === 0;

  let fstab: GuestFacts['fstab'] = [];
  let vmwareTools: string[] = [];
  let files: GuestFileDto[] | undefined;
  const bootConfigByPath: ByPathReference[] = [];
  if (mounted && osType === 'windows') {
    const [found] = await session.run([`case-sensitive-path "${WINDOWS_VMWARE_TOOLS}"`]);
    const path = parseString(found?.out ?? '');
    if (path && !/["\\]/.test(path)) {
      const [isDir] = await session.run([`is-dir "${path}"`]);
      if (parseBool(isDir?.out ?? '')) vmwareTools = [path];
    }
  } else if (mounted) {
    const reads = await session.run([
      'is-file /etc/fstab',
      'cat /etc/fstab',
      ...VMWARE_TOOLS_FILES.map((f) => `is-file ${f}`),
      ...VMWARE_TOOLS_DIRS.map((d) => `is-dir ${d}`),
      ...BOOT_CONFIG_FILES.map((f) => `grep /dev/disk/by-path/ ${f} fixed:true`),
    ]);
    const [isFile, cat] = reads;
    if (parseBool(isFile?.out ?? '') && cat?.errors.length === 0) fstab = parseFstab(cat.out);
    const tools = [...VMWARE_TOOLS_FILES, ...VMWARE_TOOLS_DIRS];
    vmwareTools = tools.filter((_, i) => parseBool(reads[2 + i]?.out ?? '') === true);
    BOOT_CONFIG_FILES.forEach((file, i) => {
      for (const line of parseList(reads[2 + tools.length + i]?.out ?? ''))
        bootConfigByPath.push({ file, line });
    });
    if (options.readFiles) files = await readFixInputs(session, base, mountpoints, fstab);
  }
  await session.run(['umount-all']);

  return {
    facts: {
      ...base,
      osType,
      distro: parseString(get('distro')),
      majorVersion: major === 0 ? null : major,
      minorVersion: major === 0 ? null : parseVersion(get('minor-version')),
      productName: parseString(get('product-name')),
      arch: parseString(get('arch')),
      hostname: parseString(get('hostname')),
      packageFormat: parseString(get('package-format')),
      packageManagement: parseString(get('package-management')),
      mountpoints,
      fstab,
      vmwareTools: vmwareTools.length ? vmwareTools.join(', ') : null,
    },
    bootConfigByPath,
    ...(files ? { files } : {}),
  };
}

/**
 * The guest-fix planner's inputs, read with the guest mounted. Mountpoints the mounts above left out
 * because their fstab spec is a by-path or by-id link (a /boot by-path holds grub.cfg) are mounted
 * first when the by-path fix's fallback resolves them (the only filesystem of the line's type that
 * nothing else names); those it cannot resolve stay out, as the fix session leaves them.
 */
async function readFixInputs(
  session: GuestfishSession,
  base: RootBase,
  mountpoints: GuestFacts['mountpoints'],
  fstab: GuestFacts['fstab'],
): Promise<GuestFileDto[]> {
  const { wanted } = planMounts({ root: base.root, mountpoints, filesystems: base.filesystems, fstab }, []);
  const resolved = wanted.filter((m) => !mountpoints.some((p) => p.path === m.path && p.device === m.device));
  await session.run(resolved.map((m) => `mount-ro ${m.device} ${m.path}`));
  return readGuestFiles(session);
}
