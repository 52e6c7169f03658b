import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestFacts, GuestFileDto, GuestFixPlanDto } from '@ferry/contracts';
import { GUEST_FIX_NAMES } from '@ferry/contracts';
import { GuestfishSession, libguestfsEnv } from '@ferry/qemu';
import type { BootableGuest } from '@ferry/testing';
import {
  FSTAB_FAIL_MARKER,
  FSTAB_OK_MARKER,
  NET_RESULT,
  bootToMarker,
  buildBootableGuest,
  parseNetResults,
} from '@ferry/testing';
import { applyGuestFixes } from './apply/apply-guest-fixes';
import { mountGuest } from './apply/mount-guest';
import { readGuestFiles } from './files/read-guest-files';
import { planGuestFixes } from './plan/plan-guest-fixes';
import type { GuestFixInput } from './plan/plan-input';

// Two libguestfs appliance boots (about 20-30 s each under TCG) and two guest boots (about 5 s, plus
// the DHCP exchange) for the whole cycle.
jest.setTimeout(300_000);

const NEW_MAC = '52:54:00:f3:44:01';
const BOOT_TIMEOUT_MS = 90_000;

/** What the planner needs of the guest, asked of libguestfs as the inspector asks it. */
async function guestFacts(session: GuestfishSession): Promise<GuestFacts> {
  const hash = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.includes(': ') || l.endsWith(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const);
  const [roots, fss] = await session.run(['inspect-os', 'list-filesystems']);
  const root = roots!.out.trim();
  const known = hash(fss!.out).filter(([, t]) => t !== 'unknown');
  const blkids = await session.run(known.map(([d]) => `blkid ${d}`));
  const [type, distro, format, mps] = await session.run(
    ['type', 'distro', 'package-format', 'mountpoints'].map((g) => `inspect-get-${g} ${root}`),
  );
  return {
    root,
    rootDiskId: 'disk-0',
    osType: type!.out.trim(),
    distro: distro!.out.trim(),
    majorVersion: null,
    minorVersion: null,
    productName: null,
    arch: null,
    hostname: null,
    packageFormat: format!.out.trim(),
    packageManagement: null,
    firmware: 'bios',
    mountpoints: hash(mps!.out).map(([path, device]) => ({ path, device })),
    filesystems: known.map(([device, t], i) => {
      const tags = new Map(hash(blkids[i]!.out));
      return {
        device,
        type: t,
        uuid: tags.get('UUID') ?? null,
        label: tags.get('LABEL') ?? null,
        partuuid: tags.get('PART_ENTRY_UUID') ?? null,
      };
    }),
    fstab: [],
    vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
  };
}

function fstabOf(files: GuestFileDto[]): GuestFacts['fstab'] {
  const text = files.find((f) => f.path === '/etc/fstab')?.content ?? '';
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'))
    .map((l) => {
      const [spec = '', path = '', type = null, options = null] = l.trim().split(/\s+/);
      return { spec, path, type, options };
    });
}

describe('guest fixes on the tiny test guest (real libguestfs, real boots)', () => {
  let dir: string;
  let fixed: BootableGuest;
  let unfixed: BootableGuest;
  let options: Parameters<typeof GuestfishSession.start>[1];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-guest-fixes-'));
    fixed = await buildBootableGuest(dir, { name: 'fixed.raw' });
    unfixed = await buildBootableGuest(dir, { name: 'unfixed.raw' });
    options = { guestfish: 'guestfish', env: await libguestfsEnv('qemu-system-x86_64'), timeoutMs: 180_000 };
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads, plans, applies (idempotently) and the fixed guest mounts /data and gets its DHCP lease on ens192', async () => {
    const disks = [{ path: fixed.path, format: 'raw' }];
    let base: Omit<GuestFixInput, 'files'>;
    let plan: GuestFixPlanDto;

    // Read-only: the facts, the files (the guest mounted as the inspector mounts it), the plan.
    const ro = await GuestfishSession.start(disks, options);
    try {
      const facts = await guestFacts(ro);
      const mounted = await mountGuest(ro, facts, { readOnly: true });
      // /data is named by a by-path link libguestfs cannot resolve, and fstab is not known yet.
      expect(mounted.mounted).toEqual([{ device: '/dev/sda2', path: '/' }]);
      expect(mounted.skipped).toEqual([expect.objectContaining({ path: '/data' })]);
      const files = await readGuestFiles(ro);
      await ro.run(['umount-all']);
      base = {
        facts: { ...facts, fstab: fstabOf(files) },
        disks: [
          { device: '/dev/sda', controller: 'pvscsi', controllerKey: 1000, busNumber: 0, unitNumber: 0 },
        ],
        nics: [{ label: 'Network adapter 1', sourceMac: fixed.vmwareMac!, newMac: NEW_MAC }],
        options: { fixes: [...GUEST_FIX_NAMES], keepStaticIp: false, virtV2v: false },
      };
      expect(files.find((f) => f.path === '/etc/udev/rules.d/70-persistent-net.rules')?.content).toContain(
        fixed.vmwareMac,
      );
      plan = planGuestFixes({ ...base, files });
    } finally {
      await ro.close();
    }
    expect(plan.blockers).toEqual([]);
    expect(plan.fixes.map((f) => [f.name, f.edits.map((e) => `${e.kind} ${e.path}`)])).toEqual([
      ['by-path', ['write /etc/fstab']],
      [
        'vmware-tools',
        [
          'rename /usr/bin/vmtoolsd',
          'rename /etc/vmware-tools',
          'symlink /etc/systemd/system/open-vm-tools.service',
          'symlink /etc/systemd/system/vmtoolsd.service',
        ],
      ],
      ['network', ['write /etc/udev/rules.d/70-persistent-net.rules']],
    ]);
    expect(plan.fixes[0]!.edits[0]!.content).toContain(`UUID=${fixed.dataUuid} /data ext4 defaults 0 2`);

    // Read-write: apply, read back, plan again (nothing), apply again (all skipped), in one boot.
    const rw = await GuestfishSession.start(disks, { ...options, readWrite: true });
    try {
      // With fstab known, the by-path fallback resolves /data (the only ext4 nothing else names).
      const mounted = await mountGuest(rw, base.facts, { readOnly: false });
      expect(mounted.mounted).toEqual([
        { device: '/dev/sda2', path: '/' },
        { device: '/dev/sda3', path: '/data' },
      ]);
      const outcomes = await applyGuestFixes(rw, plan.fixes);
      expect(outcomes.map((o) => `${o.outcome} ${o.kind} ${o.path}`)).toEqual([
        'applied write /etc/fstab',
        'applied rename /usr/bin/vmtoolsd',
        'applied rename /etc/vmware-tools',
        'applied symlink /etc/systemd/system/open-vm-tools.service',
        'applied symlink /etc/systemd/system/vmtoolsd.service',
        'applied write /etc/udev/rules.d/70-persistent-net.rules',
      ]);
      const after = await readGuestFiles(rw);
      expect(after.find((f) => f.path === '/etc/fstab')?.content).toBe(plan.fixes[0]!.edits[0]!.content);
      expect(after.find((f) => f.path === '/usr/bin/vmtoolsd.ferry-disabled')).toMatchObject({
        kind: 'file',
      });
      expect(after.find((f) => f.path === '/etc/systemd/system/vmtoolsd.service')).toMatchObject({
        kind: 'symlink',
        content: '/dev/null',
      });
      const again = planGuestFixes({ ...base, files: after });
      expect(again.fixes.flatMap((f) => f.edits)).toEqual([]);
      const reapplied = await applyGuestFixes(rw, plan.fixes);
      expect(reapplied.map((o) => o.outcome)).toEqual(Array(6).fill('skipped'));
      await rw.run(['umount-all']);
    } finally {
      await rw.close();
    }

    // The fixed guest mounts its /data and brings ens192 up on the new MAC; the unfixed one does neither.
    const fixedBoot = await bootToMarker(
      { path: fixed.path, format: 'raw', nicMac: NEW_MAC },
      NET_RESULT,
      BOOT_TIMEOUT_MS,
    );
    expect(fixedBoot.console).toContain(FSTAB_OK_MARKER);
    expect(parseNetResults(fixedBoot.console)).toEqual([
      { iface: 'ens192', ok: true, ip: expect.stringMatching(/^10\.0\.2\./) },
    ]);
    const unfixedBoot = await bootToMarker(
      { path: unfixed.path, format: 'raw', nicMac: NEW_MAC },
      NET_RESULT,
      BOOT_TIMEOUT_MS,
    );
    expect(unfixedBoot.console).toContain(FSTAB_FAIL_MARKER);
    expect(parseNetResults(unfixedBoot.console)).toEqual([
      { iface: 'ens192', ok: false, reason: expect.stringContaining('no such interface') },
    ]);
  });
});
