import { GuestFixConcernCodes } from '@ferry/contracts';
import { MemoryGuestfish } from '../testing/memory-guestfish';
import { ONE_PVSCSI, cycle, debianFacts, file, input } from '../testing/plan-fixtures';
import { planGuestFixes } from './plan-guest-fixes';

const BY_PATH = '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part1';

describe('planGuestFixes', () => {
  it('plans nothing for a Windows guest and blocks: Windows logic is sealed off, never half-done', () => {
    const plan = planGuestFixes(
      input({
        facts: {
          ...debianFacts(),
          osType: 'windows',
          distro: 'windows',
          root: '/dev/sda2',
          packageFormat: null,
        },
        files: [file('/etc/fstab', `${BY_PATH} / ext4 defaults 0 1\n`)],
        nics: [{ label: 'Network adapter 1', sourceMac: '00:50:56:00:00:01', newMac: '52:54:00:00:00:01' }],
      }),
    );
    expect(plan).toEqual({
      fixes: [],
      blockers: [
        {
          code: GuestFixConcernCodes.UNSUPPORTED_GUEST_OS,
          severity: 'blocker',
          message: expect.stringContaining('Windows guests are not supported'),
          subject: '/dev/sda2',
        },
      ],
      warnings: [],
    });
  });

  it('plans only the fixes that are enabled, in their fixed order', () => {
    const files = [file('/etc/fstab', `${BY_PATH} / ext4 defaults 0 1\n`)];
    expect(planGuestFixes(input({ files, fixes: ['network', 'by-path'] })).fixes.map((f) => f.name)).toEqual([
      'by-path',
      'network',
    ]);
    expect(planGuestFixes(input({ files, fixes: [] })).fixes).toEqual([]);
  });

  it('fixes a whole VMware Debian guest, and a second plan on the result has no edit', async () => {
    const guest = new MemoryGuestfish({
      '/etc/fstab': `${BY_PATH} / ext4 errors=remount-ro 0 1\n`,
      '/etc/default/grub': `GRUB_CMDLINE_LINUX="root=${BY_PATH}"\n`,
      '/etc/network/interfaces':
        'auto lo\niface lo inet loopback\n\nauto ens192\niface ens192 inet static\n  address 10.0.0.9/24\n  gateway 10.0.0.1\n',
      '/usr/bin/vmtoolsd': 'x',
      '/etc/vmware-tools/tools.conf': '',
    });
    const { plan, outcomes, again, reapplied } = await cycle(guest, {
      ...input({ disks: ONE_PVSCSI }),
      nics: [{ label: 'Network adapter 1', sourceMac: '00:50:56:aa:bb:cc', newMac: '52:54:00:aa:bb:cc' }],
    });
    expect(plan.blockers).toEqual([]);
    expect(plan.fixes.map((f) => [f.name, f.edits.length])).toEqual([
      ['by-path', 2],
      ['vmware-tools', 4],
      ['network', 2],
    ]);
    expect(outcomes).toHaveLength(8);
    expect(outcomes.every((o) => o.outcome === 'applied')).toBe(true);
    expect(again.fixes.flatMap((f) => f.edits)).toEqual([]);
    expect(reapplied.every((o) => o.outcome === 'skipped')).toBe(true);
    expect(guest.text('/etc/network/interfaces')).toContain('iface ens192 inet dhcp\n');
  });
});
