import type { GuestFacts } from '@ferry/contracts';
import type { GuestInspection } from './guest-inspection';
import { guestConcerns, inspectionConcerns, partitionTableConcern, sortConcerns } from './hazards';

const BY_PATH = '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1';

function guest(facts: Partial<GuestFacts> = {}, bootConfigByPath: GuestInspection['bootConfigByPath'] = []) {
  const base: GuestFacts = {
    root: '/dev/sda1',
    rootDiskId: 'disk-0',
    osType: 'linux',
    distro: 'debian',
    majorVersion: 12,
    minorVersion: 5,
    productName: '12.5',
    arch: 'x86_64',
    hostname: 'web-01',
    packageFormat: 'deb',
    packageManagement: 'apt',
    firmware: 'bios',
    mountpoints: [],
    filesystems: [],
    fstab: [],
    vmwareTools: null,
  };
  return { facts: { ...base, ...facts }, bootConfigByPath };
}
const line = (spec: string, path: string, options = 'defaults', type = 'ext4') => ({
  spec,
  path,
  type,
  options,
});

describe('hazards', () => {
  it('finds nothing in a clean guest', () => {
    expect(guestConcerns(guest({ fstab: [line('UUID=abc', '/'), line('LABEL=data', '/data')] }))).toEqual([]);
  });

  it('makes a by-path mount the boot needs a blocker, and one it can skip a warning', () => {
    const concerns = guestConcerns(
      guest({
        fstab: [
          line(BY_PATH, '/'),
          line('/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1', '/srv', 'defaults,nofail'),
          line('/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:2:0-part1', 'none', 'sw', 'swap'),
        ],
      }),
    );
    expect(concerns.map((c) => [c.code, c.severity, c.subject])).toEqual([
      ['FSTAB_BY_PATH', 'blocker', `${BY_PATH} /`],
      ['FSTAB_BY_PATH', 'warning', '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1 /srv'],
      ['FSTAB_BY_PATH', 'warning', '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:2:0-part1 none'],
    ]);
    expect(concerns[0]?.message).toMatch(/UUID=, PARTUUID= or LABEL=/);
  });

  it('falls back on the mountpoints when fstab could not be read', () => {
    const concerns = guestConcerns(guest({ fstab: [], mountpoints: [{ device: BY_PATH, path: '/' }] }));
    expect(concerns.map((c) => [c.code, c.severity])).toEqual([['FSTAB_BY_PATH', 'blocker']]);
  });

  it('flags disk serials under by-id, not LVM or MD ids', () => {
    const concerns = guestConcerns(
      guest({
        fstab: [
          line('/dev/disk/by-id/scsi-36000c29f3b2e4c1d-part1', '/'),
          line('/dev/disk/by-id/dm-uuid-LVM-abc', '/var'),
          line('/dev/disk/by-id/md-uuid-1:2:3:4', '/raid'),
        ],
      }),
    );
    expect(concerns.map((c) => [c.code, c.severity, c.subject])).toEqual([
      ['FSTAB_BY_ID', 'blocker', '/dev/disk/by-id/scsi-36000c29f3b2e4c1d-part1 /'],
    ]);
  });

  it('reports by-path links in boot configuration and VMware tools', () => {
    const concerns = guestConcerns(
      guest({ vmwareTools: '/usr/bin/vmtoolsd' }, [
        { file: '/etc/default/grub', line: `GRUB_CMDLINE_LINUX="root=${BY_PATH}"` },
        { file: '/etc/initramfs-tools/conf.d/resume', line: `RESUME=${BY_PATH}` },
      ]),
    );
    expect(concerns.map((c) => [c.code, c.severity, c.subject])).toEqual([
      ['BOOT_CONFIG_BY_PATH', 'blocker', `/etc/default/grub: GRUB_CMDLINE_LINUX="root=${BY_PATH}"`],
      ['BOOT_CONFIG_BY_PATH', 'warning', `/etc/initramfs-tools/conf.d/resume: RESUME=${BY_PATH}`],
      ['VMWARE_TOOLS', 'warning', '/dev/sda1'],
    ]);
  });

  it('says info when no OS was found, and when more than one was', () => {
    expect(inspectionConcerns([])).toEqual([
      expect.objectContaining({ code: 'NO_GUEST_OS', severity: 'info' }),
    ]);
    const two = inspectionConcerns([guest(), guest({ root: '/dev/sdb2' })]);
    expect(two).toEqual([expect.objectContaining({ code: 'MULTIPLE_GUEST_OS', severity: 'info' })]);
    expect(two[0]?.message).toMatch(/the first \(\/dev\/sda1\)/);
  });

  it('sorts worst first, keeping the order within a severity', () => {
    const info = inspectionConcerns([])[0]!;
    const warning = partitionTableConcern('disk-1', 'GPT header CRC mismatch');
    const [blocker] = guestConcerns(guest({ fstab: [line(BY_PATH, '/')] }));
    expect(sortConcerns([info, warning, blocker!]).map((c) => c.severity)).toEqual([
      'blocker',
      'warning',
      'info',
    ]);
  });
});
