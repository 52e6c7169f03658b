import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import {
  BOOT_OK_MARKER,
  FSTAB_OK_MARKER,
  FSTAB_RESULT,
  buildBootableGuest,
  eventually,
} from '@ferry/testing';
import { QemuDriver } from './qemu-driver';

/** A boot takes about 4 s under TCG on an idle machine; a loaded one (the whole suite) slows it down. */
const BOOT_TIMEOUT_MS = 60_000;
const CONSOLE = { tailBytes: 64 * 1024, maxJsonBytes: 1024 * 1024 };
const count = (text: string, marker: string) => text.split(marker).length - 1;

/** Real qemu-system-x86_64 (KVM when /dev/kvm is usable, TCG otherwise) with no guest OS. */
describe('QemuDriver (real QEMU)', () => {
  const runtimeDir = mkdtempSync('/tmp/ferry-qemu-');
  const driver = new QemuDriver({ runtimeDir, qemuBinary: 'qemu-system-x86_64', powerdownGraceMs: 300 });
  const vm = (id: string, disks = [] as Parameters<QemuDriver['start']>[0]['disks']) => ({
    id,
    cpuCount: 1,
    ramMiB: 64,
    machine: 'q35',
    disks,
  });
  const image = (name: string) => {
    const path = join(runtimeDir, `${name}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '16M']);
    return path;
  };

  afterAll(async () => {
    for (const id of ['life', 'hot', 'cold', 'snap', 'killed', 'frozen', 'boot'])
      await driver.stop(id).catch(() => undefined);
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('starts a detached VM that QMP reports running, and stops it for good', async () => {
    const started = await driver.start(vm('life'));
    expect(['kvm', 'tcg']).toContain(started.accelerator);
    expect(await driver.status('life')).toMatchObject({ running: true, status: 'running' });
    // Daemonized: its own session, not a child of this process, so vm-operator may die without it.
    const sessionOf = (pid: number) =>
      execFileSync('ps', ['-o', 'sid=', '-p', String(pid)])
        .toString()
        .trim();
    const ppid = execFileSync('ps', ['-o', 'ppid=', '-p', String(started.pid)])
      .toString()
      .trim();
    expect(Number(ppid)).not.toBe(process.pid);
    expect(sessionOf(started.pid)).not.toBe(sessionOf(process.pid));

    // No guest answers ACPI, so the power-down grace ends and `quit` does it.
    expect(await driver.stop('life')).toBe('quit');
    expect(await driver.runningPid('life')).toBeUndefined();
    expect(existsSync(started.paths.qmpSocket)).toBe(false);
    expect(await driver.stop('life')).toBe('not-running');
  });

  it('runs under TCG when told to (or when there is no KVM), and QEMU agrees', async () => {
    const tcg = new QemuDriver({
      runtimeDir,
      qemuBinary: 'qemu-system-x86_64',
      powerdownGraceMs: 300,
      accelerator: 'tcg',
    });
    const started = await tcg.start(vm('tcg'));
    expect(started.accelerator).toBe('tcg');
    expect(await (await tcg.connect('tcg')).execute('query-kvm')).toMatchObject({ enabled: false });
    expect(await tcg.stop('tcg')).toBe('quit');
  });

  it('hot-plugs a qcow2 as a SCSI disk and unplugs it on DEVICE_DELETED', async () => {
    await driver.start(vm('hot'));
    const path = image('hot-a');
    const attached = await driver.attachDisk('hot', {
      deviceId: 'disk-a',
      path,
      format: 'qcow2',
      readOnly: false,
    });
    expect(attached).toMatchObject({
      bus: 'scsi0.0',
      scsiId: 0,
      lun: 0,
      byIdPath: expect.stringContaining(attached.serial),
    });
    expect(await driver.listBlockDevices('hot')).toEqual([
      expect.objectContaining({ deviceId: 'disk-a', file: path, format: 'qcow2' }),
    ]);

    const second = await driver.attachDisk('hot', {
      deviceId: 'disk-b',
      path: image('hot-b'),
      format: 'qcow2',
      readOnly: true,
    });
    expect(second.scsiId).toBe(1);

    await driver.detachDisk('hot', 'disk-a', 5000);
    expect((await driver.listBlockDevices('hot')).map((d) => d.deviceId)).toEqual(['disk-b']);
    await expect(driver.detachDisk('hot', 'disk-a', 1000)).rejects.toThrow(/not found/i);
    await driver.stop('hot');
  });

  it('starts with cold-plugged disks already attached', async () => {
    const path = image('cold-a');
    await driver.start(vm('cold', [{ deviceId: 'disk-c', path, format: 'qcow2', readOnly: false }]));
    expect(await driver.listBlockDevices('cold')).toEqual([
      expect.objectContaining({ deviceId: 'disk-c', file: path }),
    ]);
    await driver.stop('cold');
  });

  it('snapshots a running VM disk live and commits the overlay back, removing it', async () => {
    const base = image('snap-base');
    await driver.start(vm('snap', [{ deviceId: 'vol', path: base, format: 'qcow2', readOnly: false }]));
    const overlay = join(runtimeDir, 'snap', 'vol.overlay.qcow2');
    await driver.snapshot('snap', 'vol', overlay);
    expect((await driver.listBlockDevices('snap'))[0]?.file).toBe(overlay);

    // The guest writes while the snapshot exists (qemu-io through the monitor stands in for it)...
    const qmp = await driver.connect('snap');
    await qmp.execute('human-monitor-command', { 'command-line': 'qemu-io -d vol "write -P 0xab 0 64k"' });
    // ...and the image itself stays as it was.
    const readBase = (pattern: string) =>
      execFileSync('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} 0 64k`, base]).toString();
    expect(readBase('0')).not.toMatch(/Pattern verification failed/);

    await driver.consolidate('snap', 'vol', overlay, 10_000);
    expect(existsSync(overlay)).toBe(false);
    expect((await driver.listBlockDevices('snap'))[0]?.file).toBe(base);
    expect(readBase('0xab')).not.toMatch(/Pattern verification failed/);
    await driver.stop('snap');
  });

  it('snapshots and consolidates a stopped VM disk with qemu-img', async () => {
    const base = image('offline-base');
    const overlay = join(runtimeDir, 'offline.overlay.qcow2');
    await driver.snapshotOffline(base, 'qcow2', overlay);
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '--output=json', '-U', overlay]).toString(),
    ) as { 'backing-filename': string };
    expect(info['backing-filename']).toBe(base);
    await driver.consolidateOffline(overlay);
    expect(existsSync(overlay)).toBe(false);
  });

  it('notices a QEMU killed by hand: the QMP connection closes and the pid is gone', async () => {
    const { pid } = await driver.start(vm('killed'));
    const qmp = await driver.connect('killed');
    const closed = new Promise((resolve) => qmp.once('close', resolve));
    process.kill(pid, 'SIGKILL');
    await closed;
    for (let i = 0; i < 50 && (await driver.runningPid('killed')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await driver.runningPid('killed')).toBeUndefined();
  });

  it('kills a QEMU that answers neither power-down nor quit', async () => {
    const { pid } = await driver.start(vm('frozen'));
    process.kill(pid, 'SIGSTOP');
    expect(await driver.stop('frozen')).toBe('killed');
    expect(await driver.runningPid('frozen')).toBeUndefined();
  });

  it(
    'boots the first SCSI disk, writes ttyS0 to serial.log, keeps it after the guest powers off, and moves it to serial.log.1 at the next start',
    async () => {
      const guest = await buildBootableGuest(join(runtimeDir, 'guest'), { vmwareTraits: false });
      const qcow2 = join(runtimeDir, 'guest', 'boot.qcow2');
      execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', guest.path, qcow2], {
        timeout: 60_000,
      });
      // TCG: the test is about Ferry's command line, not this host's KVM (under some nested
      // hypervisors KVM passes vm-operator's probe and still stops in syslinux).
      const tcg = new QemuDriver({
        runtimeDir,
        qemuBinary: 'qemu-system-x86_64',
        powerdownGraceMs: 300,
        accelerator: 'tcg',
      });
      const spec = {
        ...vm('boot', [{ deviceId: 'vol-boot', path: qcow2, format: 'qcow2' as const, readOnly: false }]),
        ramMiB: 256,
      };
      expect(await tcg.readConsole('boot', 'current', CONSOLE)).toMatchObject({ text: '', bytes: 0 });

      const bootOnce = async () => {
        const { pid, paths } = await tcg.start(spec);
        const booted = await eventually(
          async () => {
            const log = await tcg.readConsole('boot', 'current', CONSOLE);
            return FSTAB_RESULT.test(log.text) ? log : undefined;
          },
          BOOT_TIMEOUT_MS,
          `${FSTAB_RESULT} on the console of ${paths.serialLog}`,
        );
        // The guest powers off and QEMU exits with it; the console stays.
        await eventually(() => (isProcessRunning(pid) ? undefined : true), 30_000, 'QEMU to exit');
        expect(await tcg.runningPid('boot')).toBeUndefined();
        return booted;
      };

      const first = await bootOnce();
      expect(first.text).toContain(`${BOOT_OK_MARKER} root=/dev/sda2`);
      expect(first.text).toContain(FSTAB_OK_MARKER);
      expect(first.text).not.toContain('\r');
      const after = await tcg.readConsole('boot', 'current', CONSOLE);
      expect(after.text).toContain(first.text);
      expect(after.updatedAt?.getTime()).toBeGreaterThan(Date.now() - BOOT_TIMEOUT_MS);

      await tcg.stop('boot'); // what vm-operator does when it records the exit: nothing is left running
      const second = await bootOnce();
      expect(count(second.text, BOOT_OK_MARKER)).toBe(1); // a fresh log, not the first one appended to
      const previous = await tcg.readConsole('boot', 'previous', CONSOLE);
      expect(previous.text).toBe(after.text);
    },
    3 * BOOT_TIMEOUT_MS,
  );

  it('reports a start failure with QEMU own words and leaves nothing running', async () => {
    await expect(driver.start({ ...vm('broken'), machine: 'no-such-machine' })).rejects.toThrow(
      /qemu failed to start: .*machine/i,
    );
    expect(await driver.runningPid('broken')).toBeUndefined();
  });
});
