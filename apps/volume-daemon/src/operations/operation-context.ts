import type {
  DeviceCorrelationDto,
  OperationErrorDto,
  OperationProgressDto,
  VolumeOperationDto,
} from '@ferry/contracts';
import { DiskEvents, FerryError, errorOf } from '@ferry/contracts';
import type { EventFactory, Transactional, UnitOfWork } from '@ferry/platform';
import type { DeviceCorrelation, DiskRef } from '../backends/volume-backend';
import { toDiskDto } from '../disks/disk-dto';
import type { DiskTransitions } from '../disks/disk-transitions';
import type { DiskChange, DiskRecord, DisksRepository } from '../disks/disks.repository';
import type { OperationRecord, OperationsRepository } from './operations.repository';
import { toOperationDto } from './operations.repository';

export interface ContextDeps {
  /** True once this replica has given up its operations (shutdown past its grace). */
  abandoned: () => boolean;
  tx: Transactional;
  events: EventFactory;
  disks: DisksRepository;
  operations: OperationsRepository;
  transitions: DiskTransitions;
}

/**
 * Thrown instead of writing anything once the replica has abandoned its operations: what it would
 * record (a failure caused by its own NATS client closing) would be false. Another replica resumes.
 */
export class OperationAbandoned extends Error {
  constructor(id: string) {
    super(`operation ${id} abandoned by a replica that is shutting down`);
  }
}

/** The abort reason of an operation whose cancel was asked for: it ends `cancelled`. */
export class OperationCancelled extends Error {
  constructor(id: string) {
    super(`operation ${id} was cancelled`);
    this.name = 'OperationCancelled';
  }
}

/** How an operation that stopped on `err` ends: `cancelled` when its cancel aborted it. */
export function endingOf(
  err: unknown,
  signal: AbortSignal,
): { status: 'failed' | 'cancelled'; error: OperationErrorDto } {
  if (signal.aborted && signal.reason instanceof OperationCancelled)
    return { status: 'cancelled', error: { code: 'CONFLICT', message: signal.reason.message } };
  return { status: 'failed', error: errorOf(err) };
}

export function refOf(disk: DiskRecord): DiskRef {
  return { id: disk.id, ref: disk.ref, format: disk.format };
}

export function correlationDto(vmId: string, c: DeviceCorrelation): DeviceCorrelationDto {
  return {
    vm_id: vmId,
    device_id: c.deviceId,
    by_id_path: c.byIdPath,
    address: c.address,
    live: c.live,
    verified_at: new Date().toISOString(),
  };
}

/**
 * One running operation: records its steps as they happen and changes its disk only while it holds
 * it (`disks.operation_id` = this operation), so that a straggler can never undo a newer change.
 */
export class OperationContext {
  constructor(
    readonly op: OperationRecord,
    private readonly deps: ContextDeps,
    /** true when this replica took the operation over from one that stopped (crashed) while running it. */
    readonly resumed: boolean,
  ) {}

  get id(): string {
    return this.op.id;
  }

  async disk(): Promise<DiskRecord> {
    const disk = await this.deps.disks.findById(this.op.diskId);
    if (!disk) throw FerryError.notFound(`disk ${this.op.diskId} no longer exists`, { id: this.op.diskId });
    return disk;
  }

  /** Another disk this operation holds (a fix holds all of a guest's disks). */
  async diskById(id: string): Promise<DiskRecord> {
    const disk = await this.deps.disks.findById(id);
    if (!disk) throw FerryError.notFound(`disk ${id} no longer exists`, { id });
    return disk;
  }

  /** A converted image becomes the disk's (its file, path and format), while this operation holds it. */
  async replaceImage(image: { ref: string; path: string | null; format: 'qcow2' | 'raw' }): Promise<void> {
    this.live();
    const replaced = await this.deps.tx.run((uow) =>
      this.deps.disks.setImage(uow.em, this.op.diskId, this.op.id, image),
    );
    if (!replaced)
      throw FerryError.conflict(`disk ${this.op.diskId} is no longer held by operation ${this.op.id}`, {
        id: this.op.diskId,
      });
  }

  /** Lets go of the other disks this operation holds, as they are, in the caller's transaction. */
  async releaseOthers(uow: UnitOfWork, ids: string[], reason: string): Promise<void> {
    for (const id of ids.filter((d) => d !== this.op.diskId)) {
      const disk = await this.deps.disks.lock(uow.em, id);
      if (!disk || disk.operationId !== this.op.id) continue;
      await this.deps.transitions.changeLocked(
        uow,
        disk,
        this.op.id,
        { state: disk.state, operationId: null },
        reason,
      );
    }
  }

  private live(): void {
    if (this.deps.abandoned()) throw new OperationAbandoned(this.op.id);
  }

  /** Runs one step and records it as done (with `detail`) or failed (with the error). */
  async step<T>(
    name: string,
    work: () => Promise<T>,
    detail?: (result: T) => string | undefined,
  ): Promise<T> {
    this.live();
    try {
      const result = await work();
      await this.record(name, 'done', detail?.(result));
      return result;
    } catch (err) {
      await this.record(name, 'failed', errorOf(err).message);
      throw err;
    }
  }

  record(name: string, status: 'done' | 'failed' | 'skipped', detail?: string): Promise<void> {
    this.live();
    const step = { name, status, at: new Date().toISOString(), ...(detail ? { detail } : {}) };
    return this.deps.operations.addStep(this.op.id, step);
  }

  /** Changes the disk, keeping it held. */
  move(
    change: DiskChange,
    reason: string,
    also?: (uow: UnitOfWork, disk: DiskRecord) => Promise<void>,
  ): Promise<DiskRecord> {
    this.live();
    return this.deps.tx.run(async (uow) => {
      const disk = await this.deps.transitions.change(uow, this.op.diskId, this.op.id, change, reason);
      await also?.(uow, disk);
      return disk;
    });
  }

  /** Records what the operation produced (a fix's outcomes). */
  setResult(result: Record<string, unknown>): Promise<void> {
    this.live();
    return this.deps.operations.setResult(this.op.id, result);
  }

  /** Records the operation's progress and announces it (`operation.progress`), together. */
  publishProgress(progress: OperationProgressDto): Promise<void> {
    this.live();
    return this.deps.tx.run(async (uow) => {
      await this.deps.operations.setProgress(this.op.id, progress, uow.em);
      await uow.emit(
        this.deps.events.create(DiskEvents.OPERATION_PROGRESS, this.op.diskId, {
          operationId: this.op.id,
          diskId: this.op.diskId,
          progress,
        }),
      );
    });
  }

  /** An operation that waited for its turn (an import slot) starts now. */
  markExecuting(): Promise<void> {
    this.live();
    return this.deps.operations.markExecuting(this.op.id);
  }

  async setCorrelation(uow: UnitOfWork, correlation: DeviceCorrelationDto): Promise<void> {
    await this.deps.operations.setCorrelation(uow.em, this.op.id, correlation);
  }

  /** Emits disk.created (an import's disk, once verified) in the transaction of the change. */
  async announceCreated(uow: UnitOfWork, disk: DiskRecord): Promise<void> {
    await uow.emit(this.deps.events.create(DiskEvents.CREATED, disk.id, { disk: toDiskDto(disk) }));
  }

  /** Emits disk.attached / disk.detached in the transaction of the change. */
  async announce(
    uow: UnitOfWork,
    type: 'attached' | 'detached',
    disk: DiskRecord,
    vmId: string,
  ): Promise<void> {
    const event = type === 'attached' ? DiskEvents.ATTACHED : DiskEvents.DETACHED;
    await uow.emit(
      this.deps.events.create(event, disk.id, { disk: toDiskDto(disk), vmId, operationId: this.op.id }),
    );
  }

  /** Ends a delete (or an undone create): the disk row goes, the operation record stays. */
  async finishRemoved(
    outcome: { status: 'completed' } | { status: 'failed' | 'cancelled'; error: OperationErrorDto },
    name: string,
  ): Promise<void> {
    this.live();
    await this.deps.tx.run(async (uow) => {
      await this.deps.disks.delete(uow.em, this.op.diskId, this.op.id);
      const finished = await this.deps.operations.finish(
        uow.em,
        this.op.id,
        outcome.status,
        outcome.status === 'completed' ? null : outcome.error,
      );
      if (!finished) return;
      if (outcome.status === 'completed')
        await uow.emit(
          this.deps.events.create(DiskEvents.DELETED, this.op.diskId, { id: this.op.diskId, name }),
        );
      const type =
        outcome.status === 'completed' ? DiskEvents.OPERATION_COMPLETED : DiskEvents.OPERATION_FAILED;
      await uow.emit(this.deps.events.create(type, this.op.diskId, { operation: toOperationDto(finished) }));
    });
  }

  /**
   * Ends the operation: the disk takes its final state and is released, the record gets its status,
   * and operation.completed/failed is emitted, all in one transaction. A null change releases the disk
   * as it is.
   */
  async finish(
    outcome: { status: 'completed' } | { status: 'failed' | 'cancelled'; error: OperationErrorDto },
    change: Omit<DiskChange, 'state' | 'operationId'> & { state?: DiskChange['state'] },
    reason: string,
    also?: (uow: UnitOfWork, disk: DiskRecord) => Promise<void>,
  ): Promise<VolumeOperationDto | undefined> {
    this.live();
    return this.deps.tx.run(async (uow) => {
      const current = await this.deps.disks.lock(uow.em, this.op.diskId);
      if (current && current.operationId === this.op.id) {
        const disk = await this.deps.transitions.changeLocked(
          uow,
          current,
          this.op.id,
          { ...change, state: change.state ?? current.state, operationId: null },
          reason,
        );
        await also?.(uow, disk);
      }
      const error = outcome.status === 'completed' ? null : outcome.error;
      const finished = await this.deps.operations.finish(uow.em, this.op.id, outcome.status, error);
      if (!finished) return undefined;
      const dto = toOperationDto(finished);
      const type =
        outcome.status === 'completed' ? DiskEvents.OPERATION_COMPLETED : DiskEvents.OPERATION_FAILED;
      await uow.emit(this.deps.events.create(type, this.op.diskId, { operation: dto }));
      return dto;
    });
  }
}
