import { GuestFixConcernCodes } from '@ferry/contracts';
import { MemoryGuestfish } from '../testing/memory-guestfish';
import { cycle, debianFacts, fixOf, input } from '../testing/plan-fixtures';

const LIST = '/var/lib/dpkg/info/open-vm-tools.list';
const DESKTOP_LIST = '/var/lib/dpkg/info/open-vm-tools-desktop.list';

/** A Debian guest with open-vm-tools installed by dpkg. */
function debianWithTools(extra: Record<string, string | { dir: true }> = {}) {
  return new MemoryGuestfish({
    '/usr/bin/dpkg': '\x7fELF dpkg',
    '/usr/bin/vmtoolsd': '\x7fELF vmtoolsd',
    '/etc/vmware-tools/tools.conf': '[logging]\nlog = true\n',
    [LIST]: '/.\n/usr\n/usr/bin\n/usr/bin/vmtoolsd\n/etc/vmware-tools/tools.conf\n',
    [DESKTOP_LIST]: '/.\n/usr/bin/vmware-user-suid-wrapper\n',
    ...extra,
  });
}

const base = (over: { virtV2v?: boolean; packageFormat?: string } = {}) => ({
  ...input({ fixes: ['vmware-tools'] }),
  facts: debianFacts({
    vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
    packageFormat: over.packageFormat ?? 'deb',
  }),
  options: { fixes: ['vmware-tools' as const], keepStaticIp: false, virtV2v: over.virtV2v ?? false },
});

describe('the VMware tools fix', () => {
  it("purges the packages with the guest's dpkg, only while they are installed", async () => {
    const guest = debianWithTools();
    const ran: string[][] = [];
    guest.onCommand = (argv, g) => {
      ran.push(argv);
      for (const p of [LIST, DESKTOP_LIST, '/usr/bin/vmtoolsd']) g.nodes.delete(p);
    };
    const { plan, outcomes, again, reapplied } = await cycle(guest, base());
    const fix = fixOf(plan, 'vmware-tools');
    expect(fix.edits).toEqual([
      {
        kind: 'command',
        path: LIST,
        before_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        command: ['/usr/bin/dpkg', '--purge', 'open-vm-tools-desktop', 'open-vm-tools'],
        unless_absent: LIST,
        diff: `run /usr/bin/dpkg --purge open-vm-tools-desktop open-vm-tools (only while open-vm-tools is installed: ${LIST})`,
      },
    ]);
    expect(ran).toEqual([['/usr/bin/dpkg', '--purge', 'open-vm-tools-desktop', 'open-vm-tools']]);
    expect(outcomes[0]).toMatchObject({ fix: 'vmware-tools', kind: 'command', outcome: 'applied' });
    expect(guest.log).toContain('command "/usr/bin/dpkg --purge open-vm-tools-desktop open-vm-tools"');
    // /etc/vmware-tools is left by dpkg (a conffile): a second plan disables what is left, nothing more.
    expect(fixOf(again, 'vmware-tools').edits.map((e) => [e.kind, e.path])).toEqual([
      ['rename', '/etc/vmware-tools'],
      ['symlink', '/etc/systemd/system/open-vm-tools.service'],
      ['symlink', '/etc/systemd/system/vmtoolsd.service'],
    ]);
    expect(reapplied[0]).toMatchObject({ outcome: 'skipped', detail: 'already applied' });
  });

  it('fails the command edit when the package is still there after it', async () => {
    const guest = debianWithTools();
    const { outcomes } = await cycle(guest, base());
    expect(outcomes[0]).toMatchObject({
      outcome: 'failed',
      detail: `the command ran, but ${LIST} is still there`,
    });
  });

  it('adds nothing virt-v2v does itself', async () => {
    const { plan } = await cycle(debianWithTools(), base({ virtV2v: true }));
    const fix = fixOf(plan, 'vmware-tools');
    expect(fix.edits).toEqual([]);
    expect(fix.notes).toEqual([
      'virt-v2v removes VMware tools itself (dpkg --purge open-vm-tools-desktop open-vm-tools): Ferry adds nothing',
    ]);
    const rpm = await cycle(
      new MemoryGuestfish({ '/usr/bin/vmtoolsd': 'x' }),
      base({ virtV2v: true, packageFormat: 'rpm' }),
    );
    expect(fixOf(rpm.plan, 'vmware-tools').edits).toEqual([]);
  });

  it('only masks the units on Ubuntu with ubuntu-server, which depends on open-vm-tools', async () => {
    const guest = debianWithTools({ '/var/lib/dpkg/info/ubuntu-server.list': '/.\n' });
    const { plan, again } = await cycle(guest, base({ virtV2v: true }));
    expect(fixOf(plan, 'vmware-tools').edits.map((e) => [e.kind, e.path, e.target])).toEqual([
      ['symlink', '/etc/systemd/system/open-vm-tools.service', '/dev/null'],
      ['symlink', '/etc/systemd/system/vmtoolsd.service', '/dev/null'],
    ]);
    expect(plan.warnings).toEqual([
      expect.objectContaining({ code: GuestFixConcernCodes.VMWARE_TOOLS_KEPT }),
    ]);
    expect(fixOf(again, 'vmware-tools').edits).toEqual([]);
  });

  it('disables them where no package manager can run (the tiny test guest), and says the package stays registered', async () => {
    const guest = new MemoryGuestfish({
      '/usr/bin/vmtoolsd': '#!/bin/sh\necho "vmtoolsd: not running on VMware" >&2\nexit 1\n',
      '/etc/vmware-tools/tools.conf': '[logging]\nlog = true\n',
      '/var/lib/dpkg/status': 'Package: open-vm-tools\nStatus: install ok installed\n',
    });
    const { plan, outcomes, again, reapplied } = await cycle(guest, base());
    const fix = fixOf(plan, 'vmware-tools');
    expect(fix.edits.map((e) => [e.kind, e.path, e.target])).toEqual([
      ['rename', '/usr/bin/vmtoolsd', '/usr/bin/vmtoolsd.ferry-disabled'],
      ['rename', '/etc/vmware-tools', '/etc/vmware-tools.ferry-disabled'],
      ['symlink', '/etc/systemd/system/open-vm-tools.service', '/dev/null'],
      ['symlink', '/etc/systemd/system/vmtoolsd.service', '/dev/null'],
    ]);
    expect(fix.notes).toEqual([
      'VMware tools are disabled, not removed (no package manager can run in the guest: no /usr/bin/dpkg or /bin/dpkg): ' +
        '/usr/bin/vmtoolsd, /etc/vmware-tools renamed to *.ferry-disabled, open-vm-tools.service and vmtoolsd.service masked',
      'the package is still registered with dpkg: remove it once the VM runs (dpkg --purge open-vm-tools)',
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(guest.text('/etc/vmware-tools.ferry-disabled/tools.conf')).toContain('[logging]');
    expect(guest.nodes.get('/etc/systemd/system/vmtoolsd.service')).toEqual({
      kind: 'symlink',
      target: '/dev/null',
    });
    expect(fixOf(again, 'vmware-tools')).toMatchObject({
      edits: [],
      notes: [expect.stringContaining('already disabled')],
    });
    expect(reapplied.map((o) => o.outcome)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
  });

  it('has nothing to do without VMware tools', async () => {
    const { plan } = await cycle(new MemoryGuestfish({ '/usr/bin/dpkg': 'x' }), base());
    expect(fixOf(plan, 'vmware-tools').edits).toEqual([]);
  });
});
