import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBlankImage, buildGuestImage } from '@ferry/testing';
import type { GuestImage } from '@ferry/testing';
import { firstPass } from './first-pass';
import { DEFAULT_VM_DISK_INSPECTOR_OPTIONS, VmDiskInspector } from './vm-disk-inspector';

/** The QEMUs (appliances) of guestfish processes that were given a disk under `dir`. */
function appliancesOf(dir: string): string[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  const guestfish = new Set(
    rows.filter((m) => m[3]?.startsWith('guestfish') && m[3].includes(dir)).map((m) => m[1]),
  );
  return rows.filter((m) => guestfish.has(m[2]) && m[3]?.includes('qemu-system')).map((m) => m[1] ?? '');
}

/** Whether these processes are gone. */
function gone(pids: string[]): boolean {
  return pids.every((pid) => {
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch {
      return true;
    }
  });
}

// One appliance boot (about 15-35 s under TCG, more when supermin first builds the appliance) covers
// a BIOS guest with every hazard, a UEFI guest, and a blank disk.
jest.setTimeout(240_000);

describe('VmDiskInspector (real qemu-img and libguestfs)', () => {
  let dir: string;
  let legacy: GuestImage;
  let uefi: GuestImage;
  let blank: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-deep-'));
    legacy = await buildGuestImage({ dir, name: 'legacy', hostname: 'web-01', vmwareTools: true });
    uefi = await buildGuestImage({ dir, name: 'uefi', hostname: 'app-02', uefi: true, rootSpec: 'uuid' });
    blank = await buildBlankImage(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the partition tables, the guests and their hazards in one appliance boot', async () => {
    const inspector = new VmDiskInspector(DEFAULT_VM_DISK_INSPECTOR_OPTIONS);
    const started = Date.now();
    const result = await inspector.inspect(
      [
        { deviceId: 'disk-0', path: legacy.path, format: 'qcow2' },
        { deviceId: 'disk-1', path: uefi.path, format: 'qcow2' },
        { deviceId: 'disk-2', path: blank, format: 'qcow2' },
      ],
      new AbortController().signal,
    );
    process.stdout.write(`deep inspection of 3 disks: ${Date.now() - started} ms\n`);

    const [d0, d1, d2] = result.disks;
    expect(d0).toMatchObject({
      deviceId: 'disk-0',
      format: 'qcow2',
      virtualSizeBytes: legacy.virtualSizeBytes,
    });
    expect(d0?.backingChain).toEqual([
      { path: legacy.path, format: 'qcow2', virtualSizeBytes: legacy.virtualSizeBytes },
    ]);
    expect(d0?.partitionTable?.type).toBe('gpt');
    expect(d0?.partitionTable?.partitions).toEqual([
      expect.objectContaining({ number: 1, kind: 'linux-filesystem', name: 'root', startBytes: 1024 * 1024 }),
    ]);
    expect(d1?.partitionTable?.partitions.map((p) => p.kind)).toEqual(['efi-system', 'linux-filesystem']);
    expect(d2?.partitionTable).toEqual({ type: 'none', partitions: [] });

    expect(result.guest).toMatchObject({
      root: '/dev/sda1',
      rootDiskId: 'disk-0',
      osType: 'linux',
      distro: 'debian',
      majorVersion: 12,
      minorVersion: 5,
      arch: 'x86_64',
      hostname: 'web-01',
      packageFormat: 'deb',
      packageManagement: 'apt',
      firmware: 'bios',
      vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
    });
    const byPath = '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1';
    // libguestfs keeps a spec it cannot resolve as written (virt-inspector then fails to mount it).
    expect(result.guest?.mountpoints).toEqual([{ path: '/', device: byPath }]);
    expect(result.guest?.fstab).toEqual([
      { spec: byPath, path: '/', type: 'ext4', options: 'errors=remount-ro' },
    ]);
    expect(result.guest?.filesystems).toEqual(
      expect.arrayContaining([
        {
          device: '/dev/sda1',
          type: 'ext4',
          uuid: legacy.rootUuid,
          label: 'root',
          partuuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        },
      ]),
    );
    // An ordinary inspection carries no file contents.
    expect(result.files).toBeUndefined();

    expect(result.guests[1]).toMatchObject({
      root: '/dev/sdb2',
      rootDiskId: 'disk-1',
      hostname: 'app-02',
      firmware: 'uefi',
      vmwareTools: null,
      // UUID= specs resolved to the appliance's devices.
      mountpoints: [
        { path: '/', device: '/dev/sdb2' },
        { path: '/boot/efi', device: '/dev/sdb1' },
      ],
    });

    expect(result.concerns.map((c) => [c.code, c.severity])).toEqual([
      ['FSTAB_BY_PATH', 'blocker'],
      ['VMWARE_TOOLS', 'warning'],
      ['MULTIPLE_GUEST_OS', 'info'],
    ]);
    expect(result.concerns[0]?.subject).toBe(`${byPath} /`);
  });

  it("reads the guest fixes' inputs in the same appliance boot when asked", async () => {
    const inspector = new VmDiskInspector(DEFAULT_VM_DISK_INSPECTOR_OPTIONS);
    const result = await inspector.inspect(
      [{ deviceId: 'disk-0', path: legacy.path, format: 'qcow2' }],
      new AbortController().signal,
      { fixInputs: true },
    );
    expect(result.guest?.root).toBe('/dev/sda1');
    const files = new Map((result.files ?? []).map((f) => [f.path, f]));
    expect(files.get('/etc/fstab')).toMatchObject({ kind: 'file', content: legacy.fstab });
    expect(files.get('/etc/crypttab')).toEqual({ path: '/etc/crypttab', content: null, sha256: null });
    expect(files.get('/usr/bin/vmtoolsd')).toMatchObject({ kind: 'file', content: null });
    expect(files.get('/etc/vmware-tools')).toMatchObject({ kind: 'directory' });
  });

  it('stops after the first pass when configured so', async () => {
    const inspector = new VmDiskInspector({
      ...DEFAULT_VM_DISK_INSPECTOR_OPTIONS,
      deepInspection: 'first-pass',
    });
    const result = await inspector.inspect(
      [{ deviceId: 'disk-1', path: uefi.path, format: 'qcow2' }],
      new AbortController().signal,
    );
    expect(result).toMatchObject({ guest: null, guests: [], concerns: [] });
    expect(result.disks[0]?.partitionTable?.partitions.map((p) => p.kind)).toEqual([
      'efi-system',
      'linux-filesystem',
    ]);
  });

  it('with unreadable: warn, leaves out a disk qemu-img cannot read and an empty one (no appliance for none)', async () => {
    const empty = join(dir, 'empty.raw');
    await writeFile(empty, '');
    const disks = [
      { deviceId: 'gone', path: join(dir, 'missing.qcow2'), format: 'qcow2' },
      { deviceId: 'empty', path: empty, format: 'raw' },
    ];
    // A guestfish that cannot start: any attempt at an appliance would be a launch failure.
    const inspector = new VmDiskInspector({
      ...DEFAULT_VM_DISK_INSPECTOR_OPTIONS,
      guestfish: join(dir, 'none'),
    });
    await expect(inspector.inspect(disks, new AbortController().signal)).rejects.toThrow(/missing\.qcow2/);

    const result = await inspector.inspect(disks, new AbortController().signal, { unreadable: 'warn' });
    expect(result.disks).toEqual([
      expect.objectContaining({ deviceId: 'empty', path: empty, virtualSizeBytes: 0, partitionTable: null }),
    ]);
    expect(result.guest).toBeNull();
    expect(result.concerns).toEqual([
      expect.objectContaining({ code: 'DEEP_INSPECTION_FAILED', severity: 'warning', subject: 'gone' }),
      expect.objectContaining({ code: 'PARTITION_TABLE_UNREADABLE', severity: 'warning', subject: 'empty' }),
      {
        code: 'DEEP_INSPECTION_FAILED',
        severity: 'warning',
        message: 'the guest could not be inspected: no disk of the VM holds bytes libguestfs can read',
      },
    ]);
  });

  it('reads an image a running QEMU holds locked (the first pass uses -U)', async () => {
    // qemu-io with the image open read-write holds QEMU's write lock, as a VM without a snapshot does.
    const holder = spawn('qemu-io', ['-f', 'qcow2', legacy.path], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(() => execFileSync('qemu-img', ['info', legacy.path], { stdio: 'pipe' })).toThrow(/lock/);
      const pass = await firstPass(
        { deviceId: 'disk-0', path: legacy.path, format: 'qcow2' },
        { qemuImg: 'qemu-img', timeoutMs: 30_000 },
      );
      expect(pass.facts.partitionTable?.type).toBe('gpt');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('kills the appliance when aborted', async () => {
    const inspector = new VmDiskInspector(DEFAULT_VM_DISK_INSPECTOR_OPTIONS);
    const controller = new AbortController();
    const reason = new Error('canceled by the test');
    const inspection = inspector.inspect(
      [{ deviceId: 'disk-0', path: legacy.path, format: 'qcow2' }],
      controller.signal,
    );
    // Past the first pass, into the appliance's boot.
    let qemus: string[] = [];
    for (let i = 0; i < 100 && qemus.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      qemus = appliancesOf(dir);
    }
    expect(qemus).not.toEqual([]);
    const aborted = Date.now();
    controller.abort(reason);
    await expect(inspection).rejects.toBe(reason);
    expect(Date.now() - aborted).toBeLessThan(2000);
    // libguestfs's recovery process kills QEMU once guestfish is gone (it checks every second or so).
    for (let i = 0; i < 50 && !gone(qemus); i++) await new Promise((r) => setTimeout(r, 100));
    expect(gone(qemus)).toBe(true);
  });
});
