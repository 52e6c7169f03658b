import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartitionTableFacts } from '@ferry/contracts';
import { GuestfishError } from '@ferry/qemu';
import type { DeepDisk } from './guest-inspection';
import { inspectGuests } from './guest-inspection';

// guestfish is replaced by fixtures/fake-guestfish.mjs, which answers from the transcript of a real
// session (libguestfs 1.48, TCG) over three disks: a Debian 12 root on sda1 whose fstab mounts it by
// /dev/disk/by-path with VMware tools installed; a UEFI Debian on sdb (ESP sdb1, root sdb2, fstab by
// UUID with a /data line and swap); a blank sdc.
const FAKE = join(__dirname, 'fixtures', 'fake-guestfish.mjs');
const TRANSCRIPT = join(__dirname, 'fixtures', 'guestfish-transcript.json');
const BY_PATH = '/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1';

const gpt = (...kinds: string[]): PartitionTableFacts => ({
  type: 'gpt',
  partitions: kinds.map((kind, i) => ({ number: i + 1, startBytes: 0, sizeBytes: 0, typeId: '', kind })),
});
const DISKS: DeepDisk[] = [
  {
    deviceId: 'disk-0',
    path: '/images/legacy.qcow2',
    format: 'qcow2',
    partitionTable: gpt('linux-filesystem'),
  },
  {
    deviceId: 'disk-1',
    path: '/images/uefi.qcow2',
    format: 'qcow2',
    partitionTable: gpt('efi-system', 'linux-filesystem'),
  },
  {
    deviceId: 'disk-2',
    path: '/images/blank.raw',
    format: 'raw',
    partitionTable: { type: 'none', partitions: [] },
  },
];

describe('inspectGuests', () => {
  let dir: string;
  let logFile: string;
  const options = (env: Record<string, string> = {}, timeoutMs = 10_000, signal?: AbortSignal) => ({
    guestfish: FAKE,
    env: { FAKE_GUESTFISH_TRANSCRIPT: TRANSCRIPT, FAKE_GUESTFISH_LOG: logFile, ...env },
    timeoutMs,
    signal,
  });
  const received = () => readFileSync(logFile, 'utf8').trim().split('\n');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-fake-guestfish-'));
    logFile = join(dir, 'log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every guest in one session: libguestfs facts, fstab as written, VMware tools, firmware', async () => {
    const guests = await inspectGuests(DISKS, options());
    expect(guests).toHaveLength(2);
    const [legacy, uefi] = guests;
    expect(legacy).toEqual({
      facts: {
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
        mountpoints: [{ device: BY_PATH, path: '/' }],
        filesystems: [
          {
            device: '/dev/sda1',
            type: 'ext4',
            uuid: 'b71dd436-5085-49d5-b8f8-4d7888cff66c',
            label: null,
            partuuid: '7d4b5fa4-5060-354e-b050-b7755c76f8bb',
          },
          {
            device: '/dev/sdb1',
            type: 'vfat',
            uuid: '1234-ABCD',
            label: 'EFI',
            partuuid: 'fb57fe5c-f174-0f46-8a97-22229f27d3cc',
          },
          {
            device: '/dev/sdb2',
            type: 'ext4',
            uuid: '11111111-2222-3333-4444-555555555555',
            label: 'rootfs',
            partuuid: '8bd2b6d4-2599-dc41-bd12-62869477a7de',
          },
        ],
        fstab: [{ spec: BY_PATH, path: '/', type: 'ext4', options: 'defaults' }],
        vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
      },
      bootConfigByPath: [],
    });
    expect(uefi?.facts).toMatchObject({
      root: '/dev/sdb2',
      rootDiskId: 'disk-1',
      firmware: 'uefi',
      vmwareTools: null,
      mountpoints: [
        { device: '/dev/sdb2', path: '/' },
        { device: '/dev/sdb1', path: '/boot/efi' },
        { device: '/dev/sdb1', path: '/data' },
      ],
    });
    expect(uefi?.facts.fstab).toHaveLength(4);

    const log = received();
    // Read-only, every disk with its format (a raw image is never probed), one appliance boot.
    expect(log[0]).toBe(
      `args ${JSON.stringify(['--ro', '--format=qcow2', '-a', '/images/legacy.qcow2', '--format=qcow2', '-a', '/images/uefi.qcow2', '--format=raw', '-a', '/images/blank.raw'])}`,
    );
    expect(log.filter((l) => l === 'run')).toHaveLength(1);
    // The by-path mountpoint is not mounted (virt-inspector fails on it); resolvable ones are, parents first.
    expect(log.filter((l) => l.startsWith('mount-ro'))).toEqual([
      'mount-ro /dev/sda1 /',
      'mount-ro /dev/sdb2 /',
      'mount-ro /dev/sdb1 /data',
      'mount-ro /dev/sdb1 /boot/efi',
    ]);
    expect(log.at(-1)).toBe('exit');
  });

  it('finds by-path links in boot configuration files', async () => {
    const transcript = JSON.parse(readFileSync(TRANSCRIPT, 'utf8')) as { command: string; out: string }[];
    const grub = transcript.find((e) => e.command.startsWith('grep /dev/disk/by-path/ /etc/default/grub'));
    Object.assign(grub ?? {}, { out: `GRUB_CMDLINE_LINUX="resume=${BY_PATH}"\n`, error: undefined });
    const edited = join(dir, 'transcript.json');
    writeFileSync(edited, JSON.stringify(transcript));
    const [legacy] = await inspectGuests(DISKS, options({ FAKE_GUESTFISH_TRANSCRIPT: edited }));
    expect(legacy?.bootConfigByPath).toEqual([
      { file: '/etc/default/grub', line: `GRUB_CMDLINE_LINUX="resume=${BY_PATH}"` },
    ]);
  });

  it('says when the appliance does not start', async () => {
    const err = await inspectGuests(
      DISKS,
      options({ FAKE_GUESTFISH_LAUNCH_ERROR: 'could not create appliance' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuestfishError);
    expect(err).toMatchObject({
      kind: 'launch',
      message: expect.stringContaining('could not create appliance'),
    });
  });

  it('gives up at its deadline and kills guestfish', async () => {
    const started = Date.now();
    const err = await inspectGuests(DISKS, options({ FAKE_GUESTFISH_HANG: 'inspect-os' }, 500)).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops at once when aborted, with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('canceled');
    setTimeout(() => controller.abort(reason), 300);
    const started = Date.now();
    await expect(
      inspectGuests(DISKS, options({ FAKE_GUESTFISH_HANG: 'inspect-os' }, 10_000, controller.signal)),
    ).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reads nothing for a VM without disks', async () => {
    expect(await inspectGuests([], options())).toEqual([]);
  });
});
