import { Logger } from '@nestjs/common';
import { runCommand } from '@ferry/platform';
import { guestfishDrive, libguestfsEnv } from '@ferry/qemu';
import type { GuestFacts, GuestFileDto, InspectionConcern, LocalDiskFacts } from '@ferry/contracts';
import type { DiskImage } from './first-pass';
import { firstPass } from './first-pass';
import type { DeepDisk } from './guest-inspection';
import { inspectGuests } from './guest-inspection';
import { deepInspectionFailed, diskUnreadable, inspectionConcerns, sortConcerns } from './hazards';

export interface VmDiskInspectorOptions {
  /** `virt-inspector`: libguestfs after the first pass; `first-pass`: qemu-img and the partition table only. */
  deepInspection: 'virt-inspector' | 'first-pass';
  qemuImg: string;
  /** Limit of each qemu-img run, in ms. */
  qemuImgTimeoutMs: number;
  /** Limit of one VM's libguestfs session (appliance boot included), in ms. */
  deepTimeoutMs: number;
  guestfish: string;
  /** The QEMU libguestfs runs, probed once for working KVM (else TCG is forced). */
  qemuBinary: string;
}

export const DEFAULT_VM_DISK_INSPECTOR_OPTIONS: VmDiskInspectorOptions = {
  deepInspection: 'virt-inspector',
  qemuImg: 'qemu-img',
  qemuImgTimeoutMs: 60_000,
  deepTimeoutMs: 600_000,
  guestfish: 'guestfish',
  qemuBinary: 'qemu-system-x86_64',
};

export interface VmDiskInspection {
  disks: LocalDiskFacts[];
  /** The first operating system found across the disks, or null. */
  guest: GuestFacts | null;
  /** Every operating system found (a VM rarely has more than one). */
  guests: GuestFacts[];
  /** Worst first. */
  concerns: InspectionConcern[];
  /**
   * The guest-fix planner's inputs read from `guest` (libs/guest `readGuestFiles`), with `fixInputs`
   * only; absent otherwise, and empty when no Linux guest was mounted.
   */
  files?: GuestFileDto[];
}

export interface InspectDisksOptions {
  /**
   * What a disk whose first pass fails (qemu-img cannot read it) does: `reject` the whole inspection
   * (the default: a local image that cannot be read is the VM's error), or `warn`: a
   * DEEP_INSPECTION_FAILED concern about that disk, which is left out, and the others are inspected
   * (a vSphere disk read over the datastore, where one disk's file may be missing or empty).
   */
  unreadable?: 'reject' | 'warn';
  /**
   * Also read the files Ferry's guest fixes are planned from, in the same appliance boot (`files`).
   * Off by default: an ordinary inspection run carries no file contents.
   */
  fixInputs?: boolean;
}

/** The frozen disks' inspection (VmDiskInspector; stubbed in unit tests). */
export interface DiskInspection {
  /** Fails when the tools the configured depth needs are missing. */
  check(): Promise<void>;
  inspect(disks: DiskImage[], signal: AbortSignal, options?: InspectDisksOptions): Promise<VmDiskInspection>;
}

/**
 * Inspects a VM's frozen disk images: the first pass on each (no appliance), then, when configured,
 * one libguestfs appliance over all of them together, so that a guest whose filesystems span disks
 * is seen whole and a VM costs one boot whatever its number of disks. A disk with no bytes (or one
 * guestfish cannot open) is left out of the appliance; without any disk left there is no boot.
 */
export class VmDiskInspector implements DiskInspection {
  private readonly logger = new Logger(VmDiskInspector.name);

  constructor(private readonly options: VmDiskInspectorOptions) {}

  /** Rejects when a tool the configured depth needs is missing (and warms the KVM probe). */
  async check(): Promise<void> {
    await runCommand(this.options.qemuImg, ['--version'], 10_000);
    if (this.options.deepInspection === 'first-pass') return;
    await runCommand(this.options.guestfish, ['--version'], 10_000).catch((err: unknown) => {
      throw new Error(
        `${(err as Error).message}; install libguestfs-tools, or set INSPECTOR_DEEP_INSPECTION=first-pass`,
      );
    });
    await libguestfsEnv(this.options.qemuBinary);
  }

  /**
   * Rejects when an image cannot be read at all (unless `unreadable: 'warn'`), or with
   * `signal.reason` when aborted.
   */
  async inspect(
    disks: DiskImage[],
    signal: AbortSignal,
    options: InspectDisksOptions = {},
  ): Promise<VmDiskInspection> {
    const qemuImg = { qemuImg: this.options.qemuImg, timeoutMs: this.options.qemuImgTimeoutMs, signal };
    const facts: LocalDiskFacts[] = [];
    const concerns: InspectionConcern[] = [];
    const deep: DeepDisk[] = [];
    for (const disk of disks) {
      signal.throwIfAborted();
      const pass = await firstPass(disk, qemuImg).catch((err: unknown) => {
        signal.throwIfAborted();
        if (options.unreadable !== 'warn') throw err;
        concerns.push(diskUnreadable(disk.deviceId, messageOf(err)));
        return null;
      });
      if (!pass) continue;
      facts.push(pass.facts);
      concerns.push(...pass.concerns);
      if (pass.facts.virtualSizeBytes === 0) continue;
      if (guestfishDrive(disk.path) === null) {
        concerns.push(diskUnreadable(disk.deviceId, 'libguestfs cannot open the way it is served'));
        continue;
      }
      deep.push({ ...disk, partitionTable: pass.facts.partitionTable });
    }
    if (this.options.deepInspection === 'first-pass')
      return { disks: facts, guest: null, guests: [], concerns: sortConcerns(concerns) };
    if (deep.length === 0) {
      concerns.push(deepInspectionFailed('no disk of the VM holds bytes libguestfs can read'));
      return { disks: facts, guest: null, guests: [], concerns: sortConcerns(concerns) };
    }

    let guests: GuestFacts[] = [];
    let files: GuestFileDto[] | undefined;
    const started = Date.now();
    try {
      const found = await inspectGuests(
        deep,
        {
          guestfish: this.options.guestfish,
          env: await libguestfsEnv(this.options.qemuBinary),
          timeoutMs: this.options.deepTimeoutMs,
          signal,
        },
        { readFiles: options.fixInputs === true },
      );
      guests = found.map((g) => g.facts);
      if (options.fixInputs) files = found[0]?.files ?? [];
      const ids = deep.map((d) => d.deviceId);
      this.logger.debug({
        msg: 'deep inspection done',
        disks: ids,
        guests: guests.length,
        ms: Date.now() - started,
      });
      concerns.push(...inspectionConcerns(found));
    } catch (err) {
      signal.throwIfAborted();
      // The first pass stands; the guest stays unknown (null), and the concern says why.
      const message = messageOf(err);
      this.logger.warn({ msg: 'deep inspection failed', disks: deep.map((d) => d.deviceId), error: message });
      concerns.push(deepInspectionFailed(message));
    }
    return {
      disks: facts,
      guest: guests[0] ?? null,
      guests,
      concerns: sortConcerns(concerns),
      ...(files ? { files } : {}),
    };
  }
}

function messageOf(err: unknown): string {
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' ? message : String(err);
}
