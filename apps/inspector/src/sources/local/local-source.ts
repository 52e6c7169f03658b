import type { LoggerService } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { DeviceDto, InspectionResults, VmDto } from '@ferry/contracts';
import { DeviceSubjects, FerryError, VmSubjects } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import { allPages } from '@ferry/platform';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import { DEFAULT_VM_DISK_INSPECTOR_OPTIONS, VmDiskInspector } from '../../deep/vm-disk-inspector';
import type { InspectionSource, SnapshotRef } from '../source';
import { SourceFatalError, VmInspectionError } from '../source';

export type LocalSourceLogger = Pick<LoggerService, 'log' | 'warn' | 'debug'>;

/** From InspectorConfig (INSPECTOR_DEEP_INSPECTION, INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS, QEMU_IMG_BINARY). */
export interface LocalSourceConfig {
  deepInspection: 'virt-inspector' | 'first-pass';
  /** Limit of one VM's libguestfs session (the deep inspection), in ms. */
  virtInspectorTimeoutMs: number;
  qemuImg: string;
  /** Limit of each request to vm-operator, in ms (snapshots get at least 30 s, consolidation its own). */
  requestTimeoutMs: number;
}

/** The local SnapshotRef: the VM's UUID and, per disk, what its snapshot froze. */
export type LocalSnapshotRef = {
  vmId: string;
  devices: { deviceId: string; imagePath: string; format: string; overlayPath: string }[];
};

/** `open`'s check that vm-operator answers. */
const OPEN_TIMEOUT_MS = 5_000;
/**
 * A snapshot waits for the VM's row lock in vm-operator (behind a start, a stop or another device
 * change) and then for QMP: more than a plain request's few seconds.
 */
const SNAPSHOT_TIMEOUT_MS = 30_000;
/** The commit job's deadline on the QEMU side (vm-operator's maximum), and the request's. */
const CONSOLIDATE_TIMEOUT_MS = 120_000;
const CONSOLIDATE_REQUEST_TIMEOUT_MS = CONSOLIDATE_TIMEOUT_MS + 15_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseLocalRef(ref: SnapshotRef | null): LocalSnapshotRef | null {
  if (!ref || typeof ref['vmId'] !== 'string' || !Array.isArray(ref['devices'])) return null;
  const devices = (ref['devices'] as unknown[]).filter(
    (d): d is LocalSnapshotRef['devices'][number] =>
      typeof d === 'object' &&
      d !== null &&
      ['deviceId', 'imagePath', 'format', 'overlayPath'].every(
        (k) => typeof (d as Record<string, unknown>)[k] === 'string',
      ),
  );
  return { vmId: ref['vmId'], devices };
}

/** A VmInspectionError that keeps vm-operator's error code (NOT_FOUND tells "no such VM" apart). */
class LocalVmError extends VmInspectionError {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** vm-operator says the disk has no snapshot, or the VM or disk is gone: nothing left to remove. */
function alreadyGone(err: unknown): boolean {
  if (!(err instanceof FerryError)) return false;
  return err.code === 'NOT_FOUND' || (err.code === 'CONFLICT' && /has no snapshot/.test(err.message));
}

/**
 * vm-operator's VMs, inspected on this host. A VM id is a vm-operator VM UUID or name. Each disk is
 * frozen with vm-operator's snapshot primitive (a running VM writes to an overlay meanwhile), the
 * frozen images are read (first pass, then libguestfs), and consolidation commits the overlays back.
 */
export class LocalSource implements InspectionSource {
  readonly type = 'local' as const;
  readonly snapshots = true;

  constructor(
    private readonly client: Pick<FerryClient, 'send'>,
    private readonly config: LocalSourceConfig,
    private readonly logger: LocalSourceLogger = new Logger(LocalSource.name),
    private readonly disks: DiskInspection = new VmDiskInspector({
      ...DEFAULT_VM_DISK_INSPECTOR_OPTIONS,
      deepInspection: config.deepInspection,
      deepTimeoutMs: config.virtInspectorTimeoutMs,
      qemuImg: config.qemuImg,
    }),
  ) {}

  async open(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    try {
      await this.client.send(VmSubjects.LIST, { limit: 1 }, { timeoutMs: OPEN_TIMEOUT_MS });
    } catch (err) {
      const message = `vm-operator did not answer: ${(err as Error).message}`;
      if (err instanceof FerryError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT')) {
        throw new SourceFatalError('unreachable', message);
      }
      throw new SourceFatalError('other', message);
    }
    await this.disks.check().catch((err: unknown) => {
      throw new SourceFatalError('other', (err as Error).message);
    });
  }

  async createSnapshot(
    vmId: string,
    _name: string,
    _description: string,
    signal: AbortSignal,
  ): Promise<SnapshotRef> {
    const vm = await this.resolve(vmId);
    if (!vm) throw new VmInspectionError(`VM "${vmId}" not found`);
    const disks = (
      await this.call(() => this.client.send(DeviceSubjects.LIST, { vmId: vm.id }, this.timeout()))
    ).items.filter((d: DeviceDto) => d.path !== '');
    if (disks.length === 0) throw new VmInspectionError(`VM "${vmId}" has no disks`);
    const ref: LocalSnapshotRef = { vmId: vm.id, devices: [] };
    let pending: DeviceDto | undefined;
    try {
      for (const disk of disks) {
        signal.throwIfAborted();
        pending = disk;
        const snap = await this.client.send(
          DeviceSubjects.SNAPSHOT,
          { vmId: vm.id, deviceId: disk.deviceId },
          { timeoutMs: Math.max(this.config.requestTimeoutMs, SNAPSHOT_TIMEOUT_MS) },
        );
        ref.devices.push({
          deviceId: disk.deviceId,
          imagePath: snap.imagePath,
          format: disk.format,
          overlayPath: snap.overlayPath,
        });
        pending = undefined;
      }
    } catch (err) {
      // Only what this call froze is given back; a disk frozen by someone else stays as it was. A
      // request that timed out may still have frozen its disk: consolidating it too is safe, since
      // vm-operator runs both under the VM's lock, in order, and "no snapshot" counts as done.
      const unsure = pending && !(err instanceof FerryError && err.code !== 'TIMEOUT');
      const taken = ref.devices.map((d) => d.deviceId).concat(unsure && pending ? [pending.deviceId] : []);
      await this.consolidateAll(vm.id, taken).catch((cleanup: unknown) =>
        this.logger.warn({
          msg: 'could not consolidate after a failed snapshot',
          vmId: vm.id,
          error: (cleanup as Error).message,
        }),
      );
      if (signal.aborted) throw signal.reason;
      throw this.vmError(err, `could not snapshot the disks of VM "${vmId}"`);
    }
    this.logger.log({ msg: 'disks frozen', vmId: vm.id, devices: ref.devices.map((d) => d.deviceId) });
    return ref;
  }

  async inspect(vmId: string, ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults> {
    const local = parseLocalRef(ref);
    if (!local || local.devices.length === 0)
      throw new VmInspectionError(`VM "${vmId}" has no frozen disks to read`);
    const images = local.devices.map((d) => ({ deviceId: d.deviceId, path: d.imagePath, format: d.format }));
    let found: VmDiskInspection;
    try {
      found = await this.disks.inspect(images, signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new VmInspectionError(`the disks of VM "${vmId}" could not be read: ${(err as Error).message}`);
    }
    return {
      source: 'local',
      vmId,
      inspectedAt: new Date().toISOString(),
      durationMs: 0,
      snapshot: null,
      disks: found.disks,
      guest: found.guest,
      concerns: found.concerns,
    };
  }

  async removeSnapshot(
    vmId: string,
    ref: SnapshotRef | null,
    _name: string,
    _description: string,
  ): Promise<void> {
    const local = parseLocalRef(ref);
    if (local)
      return this.consolidateAll(
        local.vmId,
        local.devices.map((d) => d.deviceId),
      );
    // A crash before the ref was stored: whatever snapshot the VM's disks have is the inspector's
    // (vm-operator's snapshots exist for it alone).
    const vm = await this.resolve(vmId);
    if (!vm) return;
    const listed = await this.client
      .send(DeviceSubjects.LIST, { vmId: vm.id }, this.timeout())
      .catch((err: unknown) => {
        if (alreadyGone(err)) return null;
        throw err;
      });
    if (!listed) return;
    await this.consolidateAll(
      vm.id,
      listed.items.map((d) => d.deviceId),
    );
  }

  async close(): Promise<void> {}

  /** Consolidates every device, then throws the first failure; already gone counts as done. */
  private async consolidateAll(vmId: string, deviceIds: string[]): Promise<void> {
    let failure: unknown;
    for (const deviceId of deviceIds) {
      try {
        await this.client.send(
          DeviceSubjects.CONSOLIDATE,
          { vmId, deviceId, timeoutMs: CONSOLIDATE_TIMEOUT_MS },
          { timeoutMs: CONSOLIDATE_REQUEST_TIMEOUT_MS },
        );
        this.logger.log({ msg: 'disk consolidated', vmId, deviceId });
      } catch (err) {
        if (alreadyGone(err)) continue;
        this.logger.warn({ msg: 'consolidate failed', vmId, deviceId, error: (err as Error).message });
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** The VM by UUID (vm.get) or else by name (vm.list); null when there is none. */
  private async resolve(vmId: string): Promise<VmDto | null> {
    if (UUID.test(vmId)) {
      const byId = await this.call(() =>
        this.client.send(VmSubjects.GET, { id: vmId }, this.timeout()),
      ).catch((err: unknown) => {
        if (err instanceof LocalVmError && err.code === 'NOT_FOUND') return null;
        throw err;
      });
      if (byId) return byId;
    }
    const items = await allPages((cursor) =>
      this.call(() => this.client.send(VmSubjects.LIST, { cursor }, this.timeout())),
    );
    const named = items.filter((vm) => vm.name === vmId);
    if (named.length > 1) throw new VmInspectionError(`${named.length} VMs are named "${vmId}"; use its id`);
    return named[0] ?? null;
  }

  /** vm-operator's answer; its errors as this VM's, except an unreachable vm-operator, the source's. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.vmError(err, 'vm-operator refused');
    }
  }

  private vmError(err: unknown, context: string): Error {
    if (err instanceof VmInspectionError || err instanceof SourceFatalError) return err;
    if (err instanceof FerryError && err.code === 'UNAVAILABLE') {
      return new SourceFatalError('unreachable', `vm-operator is unavailable: ${err.message}`);
    }
    const code = err instanceof FerryError ? err.code : undefined;
    return new LocalVmError(`${context}: ${(err as Error).message}`, code);
  }

  private timeout(): { timeoutMs: number } {
    return { timeoutMs: this.config.requestTimeoutMs };
  }
}
