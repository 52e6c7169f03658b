import { GuestFixConcernCodes } from '@ferry/contracts';
import { MemoryGuestfish } from '../../testing/memory-guestfish';
import {
  DATA_UUID,
  LUKS_UUID,
  ONE_PVSCSI,
  ROOT_UUID,
  SRV_UUID,
  SWAP_UUID,
  cycle,
  debianFacts,
  file,
  fixOf,
  input,
} from '../../testing/plan-fixtures';
import { planGuestFixes } from '../plan-guest-fixes';

const PCI = '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0';
const WWN = '/dev/disk/by-id/scsi-36000c29f1a2b3c4d5e6f7a8b9c0d1e2f';

const FSTAB = `# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
${PCI}:0:0-part1 /               ext4    errors=remount-ro 0       1
${WWN}-part2 none            swap    sw              0       0
${PCI}:1:0-part1\t/srv\txfs\tdefaults,nofail\t0\t2
UUID=${DATA_UUID} /var/lib/data ext4 defaults 0 2
/dev/mapper/cryptdata /secret ext4 defaults 0 2
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
tmpfs /tmp tmpfs defaults 0 0
`;
const CRYPTTAB = `# <target name>\t<source device>\t\t<key file>\t<options>
cryptdata ${PCI}:0:0-part5 none luks,discard
`;
const DEFAULT_GRUB = `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=\`lsb_release -i -s 2> /dev/null || echo Debian\`
GRUB_CMDLINE_LINUX_DEFAULT="quiet resume=${WWN}-part2"
GRUB_CMDLINE_LINUX="root=${PCI}:0:0-part1"
`;
const GRUB_CFG = `### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-${ROOT_UUID}' {
\tload_video
\tinsmod gzio
\tset root='hd0,msdos1'
\tsearch --no-floppy --fs-uuid --set=root ${ROOT_UUID}
\techo\t'Loading Linux 6.1.0-18-amd64 ...'
\tlinux\t/boot/vmlinuz-6.1.0-18-amd64 root=${PCI}:0:0-part1 ro  quiet resume=${WWN}-part2
\techo\t'Loading initial ramdisk ...'
\tinitrd\t/boot/initrd.img-6.1.0-18-amd64
}
### END /etc/grub.d/10_linux ###
`;
const RESUME = `RESUME=${WWN}-part2\n`;

describe('the by-path fix', () => {
  it('resolves by-path, by-id and sdX names in fstab, crypttab and the boot configuration, and notes each decision', () => {
    const plan = planGuestFixes(
      input({
        fixes: ['by-path'],
        files: [
          file('/etc/fstab', FSTAB),
          file('/etc/crypttab', CRYPTTAB),
          file('/etc/default/grub', DEFAULT_GRUB),
          file('/boot/grub/grub.cfg', GRUB_CFG),
          file('/etc/initramfs-tools/conf.d/resume', RESUME),
        ],
      }),
    );
    expect(plan.blockers).toEqual([]);
    expect(plan.warnings).toEqual([]);
    const fix = fixOf(plan, 'by-path');
    expect(fix.edits.map((e) => [e.kind, e.path])).toEqual([
      ['write', '/etc/fstab'],
      ['write', '/etc/crypttab'],
      ['write', '/boot/grub/grub.cfg'],
      ['write', '/etc/default/grub'],
      ['write', '/etc/initramfs-tools/conf.d/resume'],
    ]);
    const [fstab, crypttab, grubCfg, grub, resume] = fix.edits;
    // Only the spec changes: the line's own whitespace (tabs) stays.
    expect(fstab!.content).toBe(
      FSTAB.replace(`${PCI}:0:0-part1 /   `, `UUID=${ROOT_UUID} /   `)
        .replace(`${WWN}-part2`, `UUID=${SWAP_UUID}`)
        .replace(`${PCI}:1:0-part1\t/srv`, `UUID=${SRV_UUID}\t/srv`),
    );
    expect(fstab!.diff.split('\n')).toEqual(
      expect.arrayContaining([
        `-${PCI}:1:0-part1\t/srv\txfs\tdefaults,nofail\t0\t2`,
        `+UUID=${SRV_UUID}\t/srv\txfs\tdefaults,nofail\t0\t2`,
        '@@ -1,9 +1,9 @@',
      ]),
    );
    expect(crypttab!.content).toBe(CRYPTTAB.replace(`${PCI}:0:0-part5`, `UUID=${LUKS_UUID}`));
    expect(grubCfg!.content).toContain(`root=UUID=${ROOT_UUID} ro  quiet resume=UUID=${SWAP_UUID}\n`);
    expect(grubCfg!.content).toContain(`search --no-floppy --fs-uuid --set=root ${ROOT_UUID}`);
    expect(grub!.content).toContain(`GRUB_CMDLINE_LINUX_DEFAULT="quiet resume=UUID=${SWAP_UUID}"`);
    expect(grub!.content).toContain(`GRUB_CMDLINE_LINUX="root=UUID=${ROOT_UUID}"`);
    expect(resume!.content).toBe(`RESUME=UUID=${SWAP_UUID}\n`);
    expect(fix.notes).toEqual(
      expect.arrayContaining([
        `/etc/fstab (/): ${PCI}:0:0-part1 → UUID=${ROOT_UUID}: it names the root filesystem libguestfs found (/dev/sda1)`,
        `/etc/fstab (/srv): ${PCI}:1:0-part1 → UUID=${SRV_UUID}: resolved by SCSI target 1 on the VM's only controller: /dev/sdb1`,
        expect.stringMatching(
          /^\/etc\/fstab \(swap\): .*-part2 → UUID=a4c3.*: the only swap filesystem no other fstab line \(nor the root\) names: \/dev\/sda2 \(a by-id serial/,
        ),
        `/etc/crypttab (crypttab cryptdata): ${PCI}:0:0-part5 → UUID=${LUKS_UUID}: resolved by SCSI target 0 on the VM's only controller: /dev/sda5`,
        expect.stringContaining('grub.cfg is generated'),
      ]),
    );
  });

  it("falls back to the only filesystem of the line's type nothing else names (the tiny test guest)", () => {
    const facts = debianFacts({
      root: '/dev/sda2',
      filesystems: [
        { device: '/dev/sda1', type: 'vfat', uuid: '4645-5252', label: 'FERRYBOOT', partuuid: '46455252-01' },
        {
          device: '/dev/sda2',
          type: 'ext4',
          uuid: '7d1c9b2e-4f3a-4e8d-9b6c-0a1b2c3d4e5f',
          label: 'root',
          partuuid: '46455252-02',
        },
        {
          device: '/dev/sda3',
          type: 'ext4',
          uuid: '3a9e5f71-8c2d-4b6e-a0f4-1e2d3c4b5a69',
          label: 'data',
          partuuid: '46455252-03',
        },
      ],
      mountpoints: [
        { device: '/dev/sda2', path: '/' },
        { device: `${PCI}:1:0-part1`, path: '/data' },
      ],
    });
    const fstab = `UUID=7d1c9b2e-4f3a-4e8d-9b6c-0a1b2c3d4e5f / ext4 errors=remount-ro 0 1\n${PCI}:1:0-part1 /data ext4 defaults 0 2\n`;
    const plan = planGuestFixes(
      input({ fixes: ['by-path'], facts, disks: [ONE_PVSCSI[0]!], files: [file('/etc/fstab', fstab)] }),
    );
    expect(plan.blockers).toEqual([]);
    const fix = fixOf(plan, 'by-path');
    expect(fix.edits[0]!.content).toBe(
      fstab.replace(`${PCI}:1:0-part1`, 'UUID=3a9e5f71-8c2d-4b6e-a0f4-1e2d3c4b5a69'),
    );
    expect(fix.notes[0]).toBe(
      `/etc/fstab (/data): ${PCI}:1:0-part1 → UUID=3a9e5f71-8c2d-4b6e-a0f4-1e2d3c4b5a69: the only ext4 filesystem no other ` +
        "fstab line (nor the root) names: /dev/sda3 (SCSI target 1 is no disk of the VM's only SCSI controller)",
    );
  });

  it('does not trust a SCSI target whose filesystem is of another type than the line says', () => {
    const fstab = `UUID=${ROOT_UUID} / ext4 defaults 0 1\n${PCI}:1:0-part1 /data ext4 defaults 0 2\n`;
    const plan = planGuestFixes(input({ fixes: ['by-path'], files: [file('/etc/fstab', fstab)] }));
    // Target 1 part 1 is the xfs /dev/sdb1; the only ext4 nothing names is /dev/sdb2.
    expect(fixOf(plan, 'by-path').edits[0]!.content).toContain(`UUID=${DATA_UUID} /data ext4`);
    expect(fixOf(plan, 'by-path').notes[0]).toContain('which holds xfs, not ext4');
  });

  it('makes an ambiguous link a blocker naming the line and the candidates, and changes nothing for it', () => {
    const disks = [
      ...ONE_PVSCSI,
      { ...ONE_PVSCSI[1]!, device: '/dev/sdc', controllerKey: 1001, unitNumber: 0 },
    ];
    const facts = debianFacts({
      filesystems: [
        ...debianFacts().filesystems,
        { device: '/dev/sdc1', type: 'ext4', uuid: '99999999-0000-4000-8000-000000000001', label: null },
      ],
    });
    const fstab = `UUID=${ROOT_UUID} / ext4 defaults 0 1\n${PCI}:1:0-part2 /data ext4 defaults 0 2\n`;
    const plan = planGuestFixes(
      input({ fixes: ['by-path'], facts, disks, files: [file('/etc/fstab', fstab)] }),
    );
    expect(fixOf(plan, 'by-path').edits).toEqual([]);
    expect(plan.blockers).toEqual([
      {
        code: GuestFixConcernCodes.DEVICE_UNRESOLVED,
        severity: 'blocker',
        message:
          `/etc/fstab (/data): ${PCI}:1:0-part2 cannot be resolved to a filesystem with certainty ` +
          '(2 ext4 filesystems are named by no other line); candidates: ' +
          `/dev/sdb2 (ext4, UUID=${DATA_UUID}), /dev/sdc1 (ext4, UUID=99999999-0000-4000-8000-000000000001): ` +
          'edit it by hand to UUID=… (or remove the line) before migrating',
        subject: `/etc/fstab: ${PCI}:1:0-part2 /data ext4 defaults 0 2`,
      },
    ]);
  });

  it("resolves /dev/sdX by the only SCSI controller's target order and /dev/hdX by IDE bus and unit, and warns for what it cannot", () => {
    const fstab = `/dev/sda1 / ext4 defaults 0 1\n/dev/sdb1 /srv xfs defaults 0 2\nUUID=${DATA_UUID} /data ext4 defaults 0 2\n/dev/sdc1 /backup ext4 defaults,nofail 0 2\n`;
    const plan = planGuestFixes(input({ fixes: ['by-path'], files: [file('/etc/fstab', fstab)] }));
    const fix = fixOf(plan, 'by-path');
    expect(fix.edits[0]!.content).toBe(
      `UUID=${ROOT_UUID} / ext4 defaults 0 1\nUUID=${SRV_UUID} /srv xfs defaults 0 2\nUUID=${DATA_UUID} /data ext4 defaults 0 2\n/dev/sdc1 /backup ext4 defaults,nofail 0 2\n`,
    );
    expect(plan.blockers).toEqual([]);
    expect(plan.warnings).toEqual([
      expect.objectContaining({
        code: GuestFixConcernCodes.DEVICE_UNRESOLVED,
        severity: 'warning',
        subject: '/etc/fstab: /dev/sdc1 /backup ext4 defaults,nofail 0 2',
      }),
    ]);

    const ide = [
      { device: '/dev/sda', controller: 'ide', controllerKey: 200, busNumber: 0, unitNumber: 0 },
      { device: '/dev/sdb', controller: 'ide', controllerKey: 201, busNumber: 1, unitNumber: 0 },
    ];
    const idePlan = planGuestFixes(
      input({
        fixes: ['by-path'],
        disks: ide,
        files: [file('/etc/fstab', '/dev/hda1 / ext4 defaults 0 1\n/dev/hdc1 /srv xfs defaults 0 2\n')],
      }),
    );
    expect(fixOf(idePlan, 'by-path').edits[0]!.content).toBe(
      `UUID=${ROOT_UUID} / ext4 defaults 0 1\nUUID=${SRV_UUID} /srv xfs defaults 0 2\n`,
    );
  });

  it('falls back when the VM has several SCSI controllers, and says so', () => {
    const disks = [ONE_PVSCSI[0]!, { ...ONE_PVSCSI[1]!, controllerKey: 1001, unitNumber: 0 }];
    const fstab = `UUID=${ROOT_UUID} / ext4 defaults 0 1\n${PCI}:0:0-part1 /srv xfs defaults 0 2\n`;
    const plan = planGuestFixes(input({ fixes: ['by-path'], disks, files: [file('/etc/fstab', fstab)] }));
    expect(fixOf(plan, 'by-path').notes[0]).toBe(
      `/etc/fstab (/srv): ${PCI}:0:0-part1 → UUID=${SRV_UUID}: the only xfs filesystem no other fstab line (nor the root) ` +
        'names: /dev/sdb1 (the VM has 2 SCSI controllers, so the SCSI target does not tell the disk)',
    );
  });

  it('leaves stable names alone: a guest already by UUID has nothing to do', () => {
    const fstab = `UUID=${ROOT_UUID} / ext4 defaults 0 1\n/dev/disk/by-id/dm-uuid-LVM-abc /srv xfs defaults 0 2\nLABEL=srv /x xfs defaults 0 0\n`;
    const plan = planGuestFixes(input({ fixes: ['by-path'], files: [file('/etc/fstab', fstab)] }));
    expect(fixOf(plan, 'by-path').edits).toEqual([]);
  });

  it('is idempotent: applied, the files plan no edit, and applying again skips every edit', async () => {
    const guest = new MemoryGuestfish({
      '/etc/fstab': FSTAB,
      '/etc/crypttab': CRYPTTAB,
      '/etc/default/grub': DEFAULT_GRUB,
      '/boot/grub/grub.cfg': GRUB_CFG,
      '/etc/initramfs-tools/conf.d/resume': RESUME,
    });
    const { plan, outcomes, again, reapplied } = await cycle(guest, { ...input({ fixes: ['by-path'] }) });
    expect(fixOf(plan, 'by-path').edits).toHaveLength(5);
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(5).fill('applied'));
    expect(again.fixes[0]!.edits).toEqual([]);
    expect(reapplied.map((o) => [o.outcome, o.detail])).toEqual(
      Array(5).fill(['skipped', 'already applied']),
    );
    expect(guest.text('/etc/fstab')).toBe(fixOf(plan, 'by-path').edits[0]!.content);
  });
});
