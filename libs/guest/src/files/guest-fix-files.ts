/**
 * What the fix planner reads from a guest, in priority order (when the whole set would not fit its
 * limit, what comes last is recorded without its text):
 * - `files`: read whole when present, recorded as absent otherwise (a fix may create one of them);
 * - `globs`: every match, read whole (`keep`: only matches whose text passes, the others are dropped);
 * - `probes`: only whether they exist and their fingerprint, never their bytes (binaries, directories,
 *   the symlinks that mask units, a package's file list whose presence is all that matters).
 */
export interface GuestFixFileSpec {
  files: readonly string[];
  globs: readonly { pattern: string; keep?: (text: string) => boolean }[];
  probes: readonly string[];
}

/** Where a fixed binary or directory goes: beside itself, renamed (`/usr/bin/vmtoolsd.ferry-disabled`). */
export const DISABLED_SUFFIX = '.ferry-disabled';

/** Binaries of the VMware tools daemon (open-vm-tools, VMware's own tarball installer). */
export const VMTOOLSD_PATHS = ['/usr/bin/vmtoolsd', '/usr/sbin/vmtoolsd', '/usr/local/bin/vmtoolsd'] as const;
export const VMWARE_TOOLS_CONFIG_DIR = '/etc/vmware-tools';
/** systemd units that start it: open-vm-tools (Debian, Ubuntu, SUSE) and vmtoolsd (RHEL, Fedora). */
export const VMWARE_TOOLS_UNITS = ['open-vm-tools.service', 'vmtoolsd.service'] as const;
export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';
/** VMware's tarball installer's uninstaller (virt-v2v runs it). */
export const VMWARE_UNINSTALLER = '/usr/bin/vmware-uninstall-tools.pl';
export const DPKG_INFO = '/var/lib/dpkg/info';
export const DPKG_BINARIES = ['/usr/bin/dpkg', '/bin/dpkg'] as const;
/** ubuntu-server depends on open-vm-tools: removing the package would break it (virt-v2v leaves it too). */
export const UBUNTU_SERVER_LIST = `${DPKG_INFO}/ubuntu-server.list`;

export const FSTAB = '/etc/fstab';
export const CRYPTTAB = '/etc/crypttab';
export const DEFAULT_GRUB = '/etc/default/grub';
export const INITRAMFS_RESUME = '/etc/initramfs-tools/conf.d/resume';
/** Files that hold a kernel command line (or several, one per boot entry). */
export const BOOT_CONFIG_FILES = [
  DEFAULT_GRUB,
  '/boot/grub/grub.cfg',
  '/boot/grub2/grub.cfg',
  '/etc/kernel/cmdline',
  '/boot/syslinux/syslinux.cfg',
  '/boot/syslinux.cfg',
  '/syslinux.cfg',
  '/boot/extlinux/extlinux.conf',
  '/boot/extlinux.conf',
  '/extlinux.conf',
] as const;
/** Boot Loader Specification entries (RHEL 8+, Fedora): `options root=…`. */
export const BLS_ENTRIES = '/boot/loader/entries/*.conf';

export const IFUPDOWN_INTERFACES = '/etc/network/interfaces';
export const PERSISTENT_NET_RULES = '/etc/udev/rules.d/70-persistent-net.rules';
export const UDEV_RULES = '/etc/udev/rules.d/*.rules';
export const SYSTEMD_LINKS = '/etc/systemd/network/*.link';
export const NETPLAN = '/etc/netplan/*.yaml';
export const NM_KEYFILES = '/etc/NetworkManager/system-connections/*';
/** RHEL's initscripts and NetworkManager's ifcfg-rh; SUSE's wicked (the same format, quoted values). */
export const IFCFG = ['/etc/sysconfig/network-scripts/ifcfg-*', '/etc/sysconfig/network/ifcfg-*'] as const;

/** A udev rule file matters only when it names a MAC (`ATTR{address}`), or is the one a fix may create. */
const pinsMac = (text: string) => /ATTRS?\{address\}/.test(text);

export const GUEST_FIX_FILES: GuestFixFileSpec = {
  files: [FSTAB, CRYPTTAB, ...BOOT_CONFIG_FILES, INITRAMFS_RESUME, IFUPDOWN_INTERFACES, PERSISTENT_NET_RULES],
  globs: [
    { pattern: BLS_ENTRIES },
    { pattern: '/etc/network/interfaces.d/*' },
    { pattern: NETPLAN },
    { pattern: NM_KEYFILES },
    ...IFCFG.map((pattern) => ({ pattern })),
    { pattern: UDEV_RULES, keep: pinsMac },
    { pattern: SYSTEMD_LINKS },
  ],
  probes: [
    ...VMTOOLSD_PATHS,
    ...VMTOOLSD_PATHS.map((p) => p + DISABLED_SUFFIX),
    VMWARE_TOOLS_CONFIG_DIR,
    VMWARE_TOOLS_CONFIG_DIR + DISABLED_SUFFIX,
    ...VMWARE_TOOLS_UNITS.map((u) => `${SYSTEMD_UNIT_DIR}/${u}`),
    VMWARE_UNINSTALLER,
    ...DPKG_BINARIES,
    UBUNTU_SERVER_LIST,
    `${DPKG_INFO}/open-vm-tools*.list`,
  ],
};

/** Per file: beyond this, `content` is the beginning only and `truncated` is set. */
export const MAX_FILE_BYTES = 256 * 1024;
/** The whole set's text: well under NATS's default 1 MiB message, with room for the facts beside it. */
export const MAX_TOTAL_BYTES = 512 * 1024;
