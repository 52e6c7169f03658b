import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type {
  AttachDiskRequest,
  CancelOperationRequest,
  CleanupTestFailoverRequest,
  ConvertDiskRequest,
  CreateDiskRequest,
  DeleteDiskRequest,
  DetachDiskRequest,
  DiskDto,
  DiskState,
  ListDisksRequest,
  OperationType,
  Page,
  VolumeOperationDto,
} from '@ferry/contracts';
import { DiskEvents, FerryError, GIB, decodeCursor, pageLimit } from '@ferry/contracts';
import { EventFactory, Transactional, currentCorrelationId, pageOf } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { VolumeBackend } from '../backends/volume-backend';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import { refOf } from '../operations/operation-context';
import { OperationRunner } from '../operations/operation-runner';
import type { OperationRecord } from '../operations/operations.repository';
import { OperationsRepository, toOperationDto } from '../operations/operations.repository';
import { toDiskDto } from './disk-dto';
import { DiskTransitions } from './disk-transitions';
import type { DiskChange, DiskRecord } from './disks.repository';
import { DisksRepository } from './disks.repository';
import { References } from './references';

/** The operations a cancel stops: the long ones. */
const CANCELLABLE: ReadonlySet<OperationType> = new Set(['import', 'fix', 'convert']);

interface Begin {
  id: string;
  type: OperationType;
  vmId: string | null;
  expectedGeneration?: number;
  params: Record<string, unknown>;
  /** Throws CONFLICT when the disk is not in a state this operation starts from. */
  check: (disk: DiskRecord) => void;
  change: DiskChange;
  reason: string;
}

/**
 * Disks and the operations on them. An operation starts in one transaction that locks the disk row,
 * refuses when another operation holds it or the caller's generation is stale, and takes the disk
 * (`operation_id`), so at most one operation per disk is ever in flight.
 */
@Injectable()
export class DisksService {
  private readonly logger = new Logger(DisksService.name);

  constructor(
    private readonly disks: DisksRepository,
    private readonly operations: OperationsRepository,
    private readonly transitions: DiskTransitions,
    private readonly runner: OperationRunner,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly config: VolumeDaemonConfig,
    private readonly references: References,
    @Inject(VOLUME_BACKEND) private readonly backend: VolumeBackend,
  ) {}

  async create(req: CreateDiskRequest): Promise<DiskDto> {
    if (req.size > this.config.VOLUME_MAX_DISK_GIB) {
      throw FerryError.validation('size is larger than this daemon allows', [
        {
          field: 'size',
          messages: [`size must not be greater than ${this.config.VOLUME_MAX_DISK_GIB} (GiB)`],
        },
      ]);
    }
    const format = req.format ?? 'qcow2';
    const id = randomUUID();
    const name = req.name ?? `disk-${id.slice(0, 8)}`;
    const op = await this.tx.run(async (uow) => {
      const opId = randomUUID();
      await this.disks.insert(uow.em, {
        id,
        name,
        sizeBytes: req.size * GIB,
        format,
        backend: this.backend.kind,
        ref: '',
        path: null,
        operationId: opId,
      });
      return this.operations.insert(uow.em, {
        id: opId,
        type: 'create',
        status: 'executing',
        diskId: id,
        vmId: null,
        params: { name, size: req.size, format },
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      });
    });
    const done = await this.runner.runNow(op);
    if (done.status !== 'completed') throw this.failure(done);
    this.logger.log({ msg: 'disk created', diskId: id, name, size: req.size, format });
    return toDiskDto(await this.require(id));
  }

  /** One page of disks, oldest first (created_at, then id). */
  async list(req: ListDisksRequest): Promise<Page<DiskDto>> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.disks.page({ vmId: req.vmId, state: req.state }, limit + 1, after);
    return pageOf(rows, limit, (r) => [r.pageAt, r.id], toDiskDto);
  }

  async get(id: string): Promise<DiskDto> {
    return toDiskDto(await this.require(id));
  }

  async delete(req: DeleteDiskRequest): Promise<{ id: string }> {
    const op = await this.begin({
      id: req.id,
      type: 'delete',
      vmId: null,
      expectedGeneration: req.expectedGeneration,
      params: {},
      check: (disk) => {
        if (disk.vmId)
          throw FerryError.conflict(`disk "${disk.name}" is attached to VM ${disk.vmId}; detach it first`, {
            id: disk.id,
            state: disk.state,
            vmId: disk.vmId,
          });
        this.expectState(disk, ['available', 'error'], 'delete');
      },
      change: { state: 'deleting' },
      reason: 'delete requested',
    });
    const done = await this.runner.runNow(op);
    if (done.status !== 'completed') throw this.failure(done);
    return { id: req.id };
  }

  async attach(req: AttachDiskRequest): Promise<VolumeOperationDto> {
    await this.references.vm(req.vmId);
    const op = await this.begin({
      id: req.id,
      type: 'attach',
      vmId: req.vmId,
      expectedGeneration: req.expectedGeneration,
      params: { vmId: req.vmId },
      check: (disk) => {
        if (disk.vmId)
          throw FerryError.conflict(`disk "${disk.name}" is already attached to VM ${disk.vmId}`, {
            id: disk.id,
            state: disk.state,
            vmId: disk.vmId,
          });
        this.expectState(disk, ['available', 'error'], 'attach');
      },
      change: { state: 'attaching', vmId: req.vmId, mountPoint: null },
      reason: `attach to VM ${req.vmId} requested`,
    });
    this.runner.start(op);
    return toOperationDto(op);
  }

  async detach(req: DetachDiskRequest): Promise<VolumeOperationDto> {
    const op = await this.beginDetach(req);
    this.runner.start(op);
    return toOperationDto(op);
  }

  /**
   * Takes the disk for a detach operation (the caller runs it). With `fromVm`, only while the disk is
   * still on that VM: CONFLICT if it moved since the caller looked.
   */
  async beginDetach(req: DetachDiskRequest, fromVm?: string): Promise<OperationRecord> {
    return this.begin({
      id: req.id,
      type: 'detach',
      vmId: null,
      expectedGeneration: req.expectedGeneration,
      params: req.timeoutMs ? { timeoutMs: req.timeoutMs } : {},
      check: (disk) => {
        if (!disk.vmId || (fromVm !== undefined && disk.vmId !== fromVm))
          throw FerryError.conflict(
            `disk "${disk.name}" is not attached${fromVm ? ` to VM ${fromVm}` : ''}${disk.vmId ? ` (it is on VM ${disk.vmId})` : ''}`,
            { id: disk.id, state: disk.state, vmId: disk.vmId },
          );
        this.expectState(disk, ['in-use', 'error'], 'detach');
      },
      change: { state: 'detaching' },
      reason: fromVm ? `detach requested (VM ${fromVm} is being deleted)` : 'detach requested',
    });
  }

  /** Seed 002's CleanupTestFailover. Refuses up front what would fail anyway, so a 409 changes nothing. */
  async cleanupTestFailover(req: CleanupTestFailoverRequest): Promise<VolumeOperationDto> {
    if (req.test_vm_id === req.oma_vm_id)
      throw FerryError.validation('the test VM and the appliance VM must differ', [
        { field: 'oma_vm_id', messages: ['oma_vm_id must differ from test_vm_id'] },
      ]);
    const power = await this.references.testFailover(req);
    if (power.running && !req.force_clean) {
      throw FerryError.conflict(
        `test VM ${req.test_vm_id} is ${power.state}; power it off first or set force_clean to power it off`,
        { vmId: req.test_vm_id, state: power.state },
      );
    }
    const params = {
      test_vm_id: req.test_vm_id,
      volume_id: req.volume_id,
      oma_vm_id: req.oma_vm_id,
      delete_vm: req.delete_vm ?? false,
      force_clean: req.force_clean ?? false,
    };
    const op = await this.begin({
      id: req.volume_id,
      type: 'cleanup-test-failover',
      vmId: req.oma_vm_id,
      params,
      check: (disk) => {
        if (disk.vmId !== req.test_vm_id || disk.state !== 'in-use')
          throw FerryError.conflict(
            `volume "${disk.name}" is not in use by test VM ${req.test_vm_id} (it is ${disk.state}${disk.vmId ? ` on VM ${disk.vmId}` : ''})`,
            { id: disk.id, state: disk.state, vmId: disk.vmId },
          );
      },
      change: { state: 'in-use' },
      reason: 'test-failover cleanup requested',
    });
    this.runner.start(op);
    return toOperationDto(op);
  }

  /**
   * Checks a disk's record against the backend (the observer's repair). A disk `in-use` on a VM that
   * no longer has its device becomes `available` (state-changed and detached, with no operation); a
   * disk still attached, or in any other state, is left as it is. CONFLICT while an operation holds
   * the disk, or when it changed between the look and the change.
   */
  async reconcile(id: string): Promise<DiskDto> {
    const disk = await this.require(id);
    if (disk.operationId) throw await this.inFlight(disk);
    const vmId = disk.vmId;
    if (disk.state !== 'in-use' || !vmId) return toDiskDto(disk);
    if (await this.backend.findAttachment(refOf(disk), vmId)) return toDiskDto(await this.require(id));
    const reason = `device missing on VM ${vmId} (reconciled on request)`;
    const changed = await this.tx.run(async (uow) => {
      const locked = await this.disks.lock(uow.em, id);
      if (!locked) throw FerryError.notFound(`disk "${id}" not found`, { id });
      if (locked.operationId) throw await this.inFlight(locked, uow.em);
      // Fencing: what the backend said is about the disk as it was read, not about a newer one.
      if (locked.state !== 'in-use' || locked.vmId !== vmId || locked.generation !== disk.generation)
        throw FerryError.conflict(
          `disk "${locked.name}" changed while it was being reconciled (it is ${locked.state}${locked.vmId ? ` on VM ${locked.vmId}` : ''}, generation ${locked.generation}); look again`,
          { id, state: locked.state, vmId: locked.vmId, generation: locked.generation },
        );
      const after = await this.transitions.changeLocked(
        uow,
        locked,
        null,
        { state: 'available', vmId: null, mountPoint: null },
        reason,
      );
      await uow.emit(
        this.events.create(DiskEvents.DETACHED, id, { disk: toDiskDto(after), vmId, operationId: null }),
      );
      return after;
    });
    this.logger.warn({ msg: 'disk record reconciled: device missing on its VM', diskId: id, vmId });
    return toDiskDto(changed);
  }

  /** Rewrites an available disk's image into `format` (a migration's CONVERT); the caller follows the operation. */
  async convert(req: ConvertDiskRequest): Promise<VolumeOperationDto> {
    if (!this.backend.importTarget)
      throw new FerryError('UNPROCESSABLE', `the ${this.backend.kind} backend does not convert images`);
    const op = await this.begin({
      id: req.id,
      type: 'convert',
      vmId: null,
      params: { format: req.format },
      check: (disk) => {
        if (disk.vmId)
          throw FerryError.conflict(`disk "${disk.name}" is attached to VM ${disk.vmId}; detach it first`, {
            id: disk.id,
            state: disk.state,
            vmId: disk.vmId,
          });
        this.expectState(disk, ['available'], 'convert');
      },
      change: { state: 'available' },
      reason: `convert to ${req.format} requested`,
    });
    this.runner.start(op);
    return toOperationDto(op);
  }

  /**
   * Asks a pending or running import, fix or convert to stop: it ends `cancelled` (an import's disk
   * removed, a fix's disks reverted, a convert's new file removed). A finished operation is returned
   * as it is; the others (attach, detach, …) are short and end by themselves: CONFLICT.
   */
  async cancel(req: CancelOperationRequest): Promise<VolumeOperationDto> {
    const op = await this.operations.findById(req.id);
    if (!op) throw FerryError.notFound(`volume operation "${req.id}" not found`, { id: req.id });
    if (op.status === 'completed' || op.status === 'failed' || op.status === 'cancelled')
      return toOperationDto(op);
    if (!CANCELLABLE.has(op.type))
      throw FerryError.conflict(`a ${op.type} operation cannot be cancelled; it ends by itself`, {
        id: op.id,
        type: op.type,
      });
    const asked = await this.operations.requestCancel(op.id);
    this.logger.log({ msg: 'cancel requested', operationId: op.id, type: op.type, reason: req.reason });
    return toOperationDto(asked ?? op);
  }

  async operation(id: string): Promise<VolumeOperationDto> {
    const op = await this.operations.findById(id);
    if (!op) throw FerryError.notFound(`volume operation "${id}" not found`, { id });
    return toOperationDto(op);
  }

  private async begin(b: Begin): Promise<OperationRecord> {
    return this.tx.run(async (uow) => {
      const disk = await this.disks.lock(uow.em, b.id);
      if (!disk) throw FerryError.notFound(`disk "${b.id}" not found`, { id: b.id });
      if (disk.operationId) throw await this.inFlight(disk, uow.em);
      if (b.expectedGeneration !== undefined && b.expectedGeneration !== disk.generation) {
        throw FerryError.conflict(
          `stale request: disk "${disk.name}" is at generation ${disk.generation}, not ${b.expectedGeneration}`,
          { id: disk.id, generation: disk.generation, expectedGeneration: b.expectedGeneration },
        );
      }
      b.check(disk);
      const op = await this.operations.insert(uow.em, {
        id: randomUUID(),
        type: b.type,
        status: 'pending',
        diskId: disk.id,
        vmId: b.vmId ?? disk.vmId,
        params: b.params,
        correlationId: currentCorrelationId() ?? null,
        claimedBy: this.runner.replicaId,
      });
      await this.transitions.changeLocked(uow, disk, null, { ...b.change, operationId: op.id }, b.reason);
      return op;
    });
  }

  /** CONFLICT naming the operation that holds the disk. */
  private async inFlight(disk: DiskRecord, em?: EntityManager): Promise<FerryError> {
    const op = disk.operationId ? await this.operations.findById(disk.operationId, em) : undefined;
    return FerryError.conflict(
      `disk "${disk.name}" has a ${op?.type ?? ''} operation in flight (${disk.operationId}); wait for it to finish`,
      { id: disk.id, operationId: disk.operationId, operationType: op?.type ?? null },
    );
  }

  private expectState(disk: DiskRecord, allowed: DiskState[], what: string): void {
    if (!allowed.includes(disk.state))
      throw FerryError.conflict(`cannot ${what} disk "${disk.name}" while it is ${disk.state}`, {
        id: disk.id,
        state: disk.state,
      });
  }

  private async require(id: string): Promise<DiskRecord> {
    const disk = await this.disks.findById(id);
    if (!disk) throw FerryError.notFound(`disk "${id}" not found`, { id });
    return disk;
  }

  private failure(op: OperationRecord): FerryError {
    const error = op.error ?? { code: 'INTERNAL', message: `operation ${op.id} did not complete` };
    return new FerryError(error.code as FerryError['code'], error.message, { operationId: op.id });
  }
}
