import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { INSPECTOR_SNAPSHOT_NAME } from '@ferry/contracts';
import type { BootableGuest, VcsimDisk } from '@ferry/testing';
import {
  VcsimProbe,
  VcsimProcess,
  attachRawAsDisk,
  buildBootableGuest,
  diskKeys,
  eventually,
  vcsimFileUrl,
} from '@ferry/testing';
import { parseBaseDisks } from './base-disks';
import { VsphereSource } from './vsphere-source';

// One libguestfs appliance boot (20-70 s under TCG on these 2-vCPU machines, more when supermin
// builds the appliance first), plus a test that aborts before or during a second.
jest.setTimeout(420_000);

const VM = '/DC0/vm/DC0_H0_VM0';
const BOOT = '[LocalDS_0] ferry-deep/boot.vmdk';
const BY_PATH = '/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:1:0-part1';
const MiB = 1024 * 1024;
const quiet = { log: () => undefined, warn: () => undefined, debug: () => undefined };

/** The processes whose command line names `dir`: the NBD servers of inspections reading under it. */
function processesUnder(dir: string): string[] {
  const out = spawnSync('pgrep', ['-a', '-f', dir], { encoding: 'utf8', timeout: 5000 });
  return out.stdout
    .split('\n')
    .filter((l) => l.trim() && !l.includes('pgrep'))
    .map((l) => l.trim());
}

describe('VsphereSource deep inspection over the datastore (vcsim, nbdkit, libguestfs)', () => {
  let vcsim: VcsimProcess;
  let probe: VcsimProbe;
  let source: VsphereSource;
  let dir: string;
  let tmpDir: string;
  let guest: BootableGuest;
  let moref: string;
  let own: VcsimDisk;
  let boot: VcsimDisk;

  beforeAll(async () => {
    // Short: nbdkit's unix sockets live below it, and a socket path holds at most 107 bytes.
    dir = await mkdtemp('/tmp/fvd-');
    tmpDir = join(dir, 'tmp');
    await mkdir(tmpDir);
    vcsim = await VcsimProcess.start({ vms: 1 });
    probe = new VcsimProbe(vcsim);
    moref = await probe.moref(VM);
    // vcsim's own disk stays (its file has 0 bytes); the bootable guest is added beside it.
    guest = await buildBootableGuest(dir);
    [own] = await diskKeys(vcsim, moref);
    boot = await attachRawAsDisk(vcsim, moref, guest.path, BOOT, dir);
    source = new VsphereSource(
      { url: vcsim.url, username: vcsim.username, password: vcsim.password },
      {
        caFile: vcsim.caFile,
        insecure: false,
        requestTimeoutMs: 10_000,
        taskTimeoutMs: 30_000,
        deepInspection: 'virt-inspector',
        tmpDir,
      },
      quiet,
    );
    await source.open(AbortSignal.timeout(60_000));
  }, 300_000);

  afterAll(async () => {
    await source?.close();
    expect(vcsim?.output.filter((l) => l.includes('panic')) ?? []).toEqual([]);
    await vcsim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the guest on the disks its snapshot froze, and a 0-byte disk is a warning', async () => {
    const started = Date.now();
    const ref = await source.createSnapshot(VM, INSPECTOR_SNAPSHOT_NAME, 'deep', AbortSignal.timeout(30_000));
    // The files as they were before the snapshot, with the URLs an export gives.
    expect(parseBaseDisks(ref)).toEqual([
      {
        key: String(own!.key),
        label: expect.any(String),
        fileName: own!.fileName,
        url: vcsimFileUrl(vcsim, own!.fileName),
        unreadable: null,
      },
      {
        key: String(boot.key),
        label: expect.any(String),
        fileName: BOOT,
        url: vcsimFileUrl(vcsim, BOOT),
        unreadable: null,
      },
    ]);
    let results;
    try {
      results = await source.inspect(VM, ref, AbortSignal.timeout(360_000));
    } finally {
      await source.removeSnapshot(VM, ref, INSPECTOR_SNAPSHOT_NAME, 'deep');
    }
    process.stdout.write(
      `vSphere deep inspection of 2 disks over the datastore: ${Date.now() - started} ms\n`,
    );
    expect(await probe.snapshotNames(moref)).toEqual([]);
    // Every nbdkit is gone, and so is the private directory of the cookie and the sockets.
    expect(processesUnder(tmpDir)).toEqual([]);
    expect(await readdir(tmpDir)).toEqual([]);

    expect(results.vsphere?.disks.map((d) => d.key)).toEqual([own!.key, boot.key]);
    expect(results.disks).toEqual([
      expect.objectContaining({
        deviceId: String(own!.key),
        path: own!.fileName,
        virtualSizeBytes: 0,
        partitionTable: null,
      }),
      {
        deviceId: String(boot.key),
        path: BOOT,
        format: 'raw',
        virtualSizeBytes: 64 * MiB,
        actualSizeBytes: null,
        backingChain: [{ path: BOOT, format: 'raw', virtualSizeBytes: 64 * MiB }],
        partitionTable: {
          type: 'mbr',
          partitions: guest.partitions.map((p) =>
            expect.objectContaining({ number: p.number, startBytes: p.startBytes, sizeBytes: p.sizeBytes }),
          ),
        },
      },
    ]);
    // The 0-byte disk is left out of the appliance, so the guest's disk is its sda.
    expect(results.guest).toMatchObject({
      root: '/dev/sda2',
      rootDiskId: String(boot.key),
      osType: 'linux',
      distro: 'debian',
      majorVersion: 12,
      arch: 'x86_64',
      hostname: 'ferry-boot-guest',
      firmware: 'bios',
      mountpoints: [
        { path: '/', device: '/dev/sda2' },
        { path: '/data', device: BY_PATH },
      ],
      fstab: [
        { spec: `UUID=${guest.rootUuid}`, path: '/', type: 'ext4', options: 'errors=remount-ro' },
        { spec: BY_PATH, path: '/data', type: 'ext4', options: 'defaults' },
      ],
      vmwareTools: '/usr/bin/vmtoolsd, /etc/vmware-tools',
    });
    expect(results.guest?.filesystems).toEqual(
      expect.arrayContaining([
        // An MBR partition's PARTUUID is the disk's label id and the partition's number.
        { device: '/dev/sda2', type: 'ext4', uuid: guest.rootUuid, label: 'root', partuuid: '46455252-02' },
        { device: '/dev/sda3', type: 'ext4', uuid: guest.dataUuid, label: 'data', partuuid: '46455252-03' },
      ]),
    );

    const codes = results.concerns.map((c) => [c.code, c.severity, c.subject]);
    expect(codes).toEqual(
      expect.arrayContaining([
        ['FSTAB_BY_PATH', 'blocker', `${BY_PATH} /data`],
        ['VMWARE_TOOLS', 'warning', '/dev/sda2'],
        ['PARTITION_TABLE_UNREADABLE', 'warning', String(own!.key)],
        // vSphere's own facts still count.
        ['VMWARE_PARAVIRTUAL_DEVICES', 'info', undefined],
      ]),
    );
    expect(results.concerns.filter((c) => c.code === 'DEEP_INSPECTION_FAILED')).toEqual([]);
    const rank = { blocker: 0, warning: 1, info: 2 };
    const ranks = results.concerns.map((c) => rank[c.severity]);
    expect(ranks).toEqual([...ranks].sort());
  });

  it('stops every NBD server and removes its directory when the inspection is aborted', async () => {
    const ref = await source.createSnapshot(
      VM,
      INSPECTOR_SNAPSHOT_NAME,
      'abort',
      AbortSignal.timeout(30_000),
    );
    const controller = new AbortController();
    const reason = new Error('canceled by the test');
    try {
      const inspection = source.inspect(VM, ref, controller.signal);
      // Aborted once the bootable disk's nbdkit serves it (the 0-byte disk's came first).
      await eventually(
        () => (processesUnder(tmpDir).some((p) => p.includes('boot-flat.vmdk')) ? true : undefined),
        60_000,
        "the boot disk's nbdkit",
      );
      const aborted = Date.now();
      controller.abort(reason);
      await expect(inspection).rejects.toBe(reason);
      // Each server gets SIGTERM, then SIGKILL after 5 s.
      expect(Date.now() - aborted).toBeLessThan(8000);
    } finally {
      await source.removeSnapshot(VM, ref, INSPECTOR_SNAPSHOT_NAME, 'abort');
    }
    expect(processesUnder(tmpDir)).toEqual([]);
    expect(await readdir(tmpDir)).toEqual([]);
    expect(await probe.snapshotNames(moref)).toEqual([]);
  });
});
