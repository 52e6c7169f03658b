import { constants, readFileSync } from 'node:fs';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { commandReason, isProcessRunning, runCommand } from '@ferry/platform';
import { commitImage, createImage, probeKvm, QmpClient } from '@ferry/qemu';
import type { Accelerator, DiskSpec, RuntimePaths, ScsiAddress, VmSpec } from './qemu-args';
import type { LogTail, TailOptions } from './serial-console';
import { previousLogOf, readLogTail, rotateLog } from './serial-console';
import {
  assertSafeId,
  blockdevOptions,
  nodeName,
  overlayNodeName,
  qemuArgs,
  scsiAddress,
  scsiDeviceProps,
} from './qemu-args';

/** `qemu-img create` of an overlay writes only metadata. */
const OVERLAY_CREATE_TIMEOUT_MS = 60_000;
/** `qemu-img commit` copies every cluster the overlay holds into its base: large ones take a while. */
const COMMIT_TIMEOUT_MS = 30 * 60_000;
/** Unix socket paths longer than this do not fit in sockaddr_un. */
const MAX_SOCKET_PATH = 107;

export interface QemuDriverOptions {
  /** Base directory; each VM gets `<runtimeDir>/<vmId>/` with qmp.sock, qemu.pid, qemu.log and serial.log. */
  runtimeDir: string;
  qemuBinary: string;
  /** How long a guest gets to honour ACPI power-down before `quit`, in ms. */
  powerdownGraceMs: number;
  /** `auto`: KVM when /dev/kvm opens read-write, else TCG. `tcg` forces emulation; `kvm` requires KVM. */
  accelerator?: 'auto' | Accelerator;
}

export interface StartedVm {
  pid: number;
  accelerator: Accelerator;
  paths: RuntimePaths;
}

export type StopOutcome = 'powerdown' | 'quit' | 'killed' | 'not-running';

export interface BlockDevice {
  deviceId: string;
  nodeName: string;
  file?: string;
  format?: string;
  readOnly: boolean;
}

/** The pid file could be stale and its pid reused: the process must be this VM's QEMU. */
function isQemuOf(pid: number, vmId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .includes(`ferry-${vmId},process=ferry-${vmId}`);
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessRunning(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !isProcessRunning(pid);
}

/**
 * Runs one detached qemu-system-x86_64 per VM and talks to it over QMP. Keeps one QMP connection per
 * running VM so that events (SHUTDOWN, DEVICE_DELETED) are seen as they happen.
 */
export class QemuDriver {
  private readonly logger = new Logger(QemuDriver.name);
  private readonly qmp = new Map<string, QmpClient>();
  private accel?: Promise<Accelerator>;

  constructor(private readonly options: QemuDriverOptions) {}

  paths(vmId: string): RuntimePaths {
    assertSafeId('VM id', vmId);
    const dir = join(this.options.runtimeDir, vmId);
    const paths = {
      dir,
      qmpSocket: join(dir, 'qmp.sock'),
      auxQmpSocket: join(dir, 'qmp-aux.sock'),
      pidFile: join(dir, 'qemu.pid'),
      logFile: join(dir, 'qemu.log'),
      serialLog: join(dir, 'serial.log'),
    };
    if (paths.auxQmpSocket.length > MAX_SOCKET_PATH) {
      throw new Error(
        `QMP socket path is too long (${paths.auxQmpSocket.length} > ${MAX_SOCKET_PATH}); use a shorter runtime directory`,
      );
    }
    return paths;
  }

  /**
   * KVM when /dev/kvm opens read-write and a paused KVM guest with `-cpu host` really starts,
   * otherwise TCG. Probed once. An openable /dev/kvm is not enough: under some nested hypervisors
   * QEMU aborts at vCPU reset ("failed to set MSR 0x10a"), and every VM start would fail.
   */
  async accelerator(): Promise<Accelerator> {
    const wanted = this.options.accelerator ?? 'auto';
    if (wanted !== 'auto') return wanted;
    this.accel ??= this.detectAccelerator();
    return this.accel;
  }

  private async detectAccelerator(): Promise<Accelerator> {
    const openable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      () => true,
      () => false,
    );
    const failure = openable
      ? await probeKvm(this.options.qemuBinary, 15_000)
      : '/dev/kvm cannot be opened read-write';
    if (failure) this.logger.warn({ msg: 'KVM is not usable; VMs run under TCG', reason: failure });
    return failure ? 'tcg' : 'kvm';
  }

  async start(spec: VmSpec): Promise<StartedVm> {
    const paths = this.paths(spec.id);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await rm(paths.qmpSocket, { force: true });
    await rotateLog(paths.serialLog);
    const accelerator = await this.accelerator();
    try {
      // With -daemonize the launcher exits once QEMU is initialised; a bad argument fails it here.
      await runCommand(this.options.qemuBinary, qemuArgs(spec, paths, accelerator), 30_000);
    } catch (err) {
      // QEMU may have made its socket before it gave up: leave nothing behind.
      await this.cleanup(spec.id, 'not-running');
      throw new Error(`qemu failed to start: ${commandReason(err)}`);
    }
    const pid = await this.readPid(paths);
    if (!pid) throw new Error('qemu started but wrote no pid file');
    await this.connect(spec.id);
    return { pid, accelerator, paths };
  }

  /** QMP of a VM started by this or an earlier vm-operator process (adoption after a restart). */
  async connect(vmId: string): Promise<QmpClient> {
    const existing = this.qmp.get(vmId);
    if (existing?.isOpen) return existing;
    const client = await QmpClient.connect(this.paths(vmId).qmpSocket);
    client.once('close', () => {
      if (this.qmp.get(vmId) === client) this.qmp.delete(vmId);
    });
    this.qmp.set(vmId, client);
    return client;
  }

  async readPid(paths: RuntimePaths): Promise<number | undefined> {
    const text = await readFile(paths.pidFile, 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** The pid of the VM's QEMU if that process is alive. */
  async runningPid(vmId: string): Promise<number | undefined> {
    const pid = await this.readPid(this.paths(vmId));
    return pid && isProcessRunning(pid) && isQemuOf(pid, vmId) ? pid : undefined;
  }

  /** Whether QMP answers within `timeoutMs`. */
  async qmpHealthy(vmId: string, timeoutMs = 500): Promise<boolean> {
    try {
      const qmp = await this.connect(vmId);
      await qmp.execute('query-status', undefined, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  async status(vmId: string): Promise<{ status: string; running: boolean }> {
    return (await this.connect(vmId)).execute('query-status');
  }

  /**
   * The end of the VM's serial console log: this boot's (`current`, kept after QEMU exits) or the one
   * before its last start (`previous`). Empty when there is none (a VM that never started).
   */
  async readConsole(vmId: string, boot: 'current' | 'previous', options: TailOptions): Promise<LogTail> {
    const { serialLog } = this.paths(vmId);
    return readLogTail(boot === 'previous' ? previousLogOf(serialLog) : serialLog, options);
  }

  /** ACPI power-down, then `quit` after the grace period, then SIGKILL: it always ends. */
  async stop(vmId: string, graceMs = this.options.powerdownGraceMs): Promise<StopOutcome> {
    const pid = await this.runningPid(vmId);
    if (!pid) return this.cleanup(vmId, 'not-running'); // stale socket or pid file of a dead QEMU
    const qmp = await this.connect(vmId).catch(() => undefined);
    if (qmp) {
      if (graceMs > 0) {
        await qmp.execute('system_powerdown', undefined, 2000).catch(() => undefined);
        if (await waitForExit(pid, graceMs)) return this.cleanup(vmId, 'powerdown');
      }
      await qmp.execute('quit', undefined, 2000).catch(() => undefined);
      if (await waitForExit(pid, 5000)) return this.cleanup(vmId, 'quit');
    }
    this.logger.warn({ msg: 'QEMU ignored power-down and quit; killing it', vmId, pid });
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5000);
    return this.cleanup(vmId, 'killed');
  }

  /** Hot-plugs an image as a SCSI disk on the VM's virtio-scsi controller. */
  async attachDisk(vmId: string, disk: DiskSpec): Promise<ScsiAddress> {
    assertSafeId('device id', disk.deviceId);
    const qmp = await this.connect(vmId);
    const used = new Set((await this.scsiIds(qmp)).values());
    let scsiId = 0;
    while (used.has(scsiId)) scsiId++;
    await qmp.execute('blockdev-add', blockdevOptions(disk));
    try {
      await qmp.execute('device_add', scsiDeviceProps(disk.deviceId, scsiId));
    } catch (err) {
      await qmp.execute('blockdev-del', { 'node-name': nodeName(disk.deviceId) }).catch(() => undefined);
      throw err;
    }
    return scsiAddress(disk.deviceId, scsiId);
  }

  /** Unplugs a disk: device_del, wait for DEVICE_DELETED of that device, then blockdev-del. */
  async detachDisk(vmId: string, deviceId: string, timeoutMs: number): Promise<void> {
    assertSafeId('device id', deviceId);
    const qmp = await this.connect(vmId);
    const deleted = qmp.waitForEvent('DEVICE_DELETED', (e) => e.data?.['device'] === deviceId, timeoutMs);
    deleted.catch(() => undefined);
    await qmp.execute('device_del', { id: deviceId });
    await deleted;
    await qmp.execute('blockdev-del', { 'node-name': nodeName(deviceId) });
  }

  /**
   * Live snapshot: new writes go to a qcow2 overlay, so the disk's own image stays frozen and can be
   * read (by the inspector) while the VM runs. Undo with consolidate().
   */
  async snapshot(vmId: string, deviceId: string, overlayPath: string): Promise<void> {
    assertSafeId('device id', deviceId);
    const qmp = await this.connect(vmId);
    await qmp.execute('blockdev-snapshot-sync', {
      'node-name': nodeName(deviceId),
      'snapshot-file': overlayPath,
      'snapshot-node-name': overlayNodeName(deviceId),
      format: 'qcow2',
      mode: 'absolute-paths',
    });
  }

  /**
   * Active commit of the overlay back into the image (block-commit, then block-job-complete once the
   * job is READY), after which the image is the device's active layer again and the overlay is deleted.
   */
  async consolidate(vmId: string, deviceId: string, overlayPath: string, timeoutMs: number): Promise<void> {
    assertSafeId('device id', deviceId);
    const qmp = await this.connect(vmId);
    const job = `commit-${deviceId}`;
    const ready = qmp.waitForEvent('BLOCK_JOB_READY', (e) => e.data?.['device'] === job, timeoutMs);
    ready.catch(() => undefined);
    await qmp.execute('block-commit', { 'job-id': job, device: overlayNodeName(deviceId) });
    await ready;
    const completed = qmp.waitForEvent('BLOCK_JOB_COMPLETED', (e) => e.data?.['device'] === job, timeoutMs);
    await qmp.execute('block-job-complete', { device: job });
    const done = await completed;
    if (done.data?.['error'])
      throw new Error(`block-commit of ${deviceId} failed: ${String(done.data['error'])}`);
    await rm(overlayPath, { force: true });
  }

  /** Offline versions of the two above, for a stopped VM, with qemu-img. */
  async snapshotOffline(imagePath: string, format: 'qcow2' | 'raw', overlayPath: string): Promise<void> {
    await createImage(
      overlayPath,
      { format: 'qcow2', backing: { path: imagePath, format } },
      { qemuImg: 'qemu-img', timeoutMs: OVERLAY_CREATE_TIMEOUT_MS },
    );
  }

  async consolidateOffline(overlayPath: string): Promise<void> {
    await commitImage(overlayPath, { qemuImg: 'qemu-img', timeoutMs: COMMIT_TIMEOUT_MS });
    await rm(overlayPath, { force: true });
  }

  /** What QEMU reports, not what any database thinks. */
  async listBlockDevices(vmId: string): Promise<BlockDevice[]> {
    const qmp = await this.connect(vmId);
    const blocks =
      await qmp.execute<
        { qdev?: string; inserted?: { 'node-name': string; file: string; drv: string; ro: boolean } }[]
      >('query-block');
    return blocks
      .filter((b) => b.inserted)
      .map((b) => ({
        deviceId: (b.qdev ?? '').split('/').filter(Boolean)[0] ?? '',
        nodeName: b.inserted!['node-name'],
        file: b.inserted!.file,
        format: b.inserted!.drv,
        readOnly: b.inserted!.ro,
      }));
  }

  /** The SCSI target of a plugged device; undefined when QEMU has no such device. */
  async scsiIdOf(vmId: string, deviceId: string): Promise<number | undefined> {
    assertSafeId('device id', deviceId);
    const qmp = await this.connect(vmId);
    return qmp
      .execute<number>('qom-get', { path: `/machine/peripheral/${deviceId}`, property: 'scsi-id' })
      .catch(() => undefined);
  }

  private async scsiIds(qmp: QmpClient): Promise<number[]> {
    const tree = await qmp.execute<{ name: string; type: string }[]>('qom-list', {
      path: '/machine/peripheral',
    });
    const ids: number[] = [];
    for (const child of tree.filter((c) => c.type.startsWith('child<scsi-'))) {
      ids.push(
        await qmp.execute<number>('qom-get', {
          path: `/machine/peripheral/${child.name}`,
          property: 'scsi-id',
        }),
      );
    }
    return ids;
  }

  private async cleanup(vmId: string, outcome: StopOutcome): Promise<StopOutcome> {
    this.qmp.get(vmId)?.close();
    this.qmp.delete(vmId);
    const paths = this.paths(vmId);
    await rm(paths.qmpSocket, { force: true });
    await rm(paths.pidFile, { force: true });
    return outcome;
  }
}
