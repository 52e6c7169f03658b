import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import type {
  InspectionHistoryDto,
  InspectionHistoryRequest,
  InspectionQueueDto,
  InspectionQueueRequest,
  InspectionSourceType,
  InspectionStatusDto,
  InspectorState,
  InspectorStatusDto,
  QueuePlaceDto,
  StartInspectionRequest,
} from '@ferry/contracts';
import { decodeCursor, FerryError, INSPECTOR_BUSY_STATES, pageLimit } from '@ferry/contracts';
import { CredentialsCipher, currentCorrelationId, pageOf, Transactional, withTimeout } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { InspectorConfig } from '../config/inspector.config';
import type { VcenterSecret } from '@ferry/platform';
import type { QueueRecord, RunRecord } from '../queue/queue.repository';
import { QueueRepository, TERMINAL_RUN_STATES } from '../queue/queue.repository';
import { InspectionRunner, OPEN_TIMEOUT_MS } from '../runner/inspection-runner';
import { SourceFactory } from '../sources/source-factory';
import type { InspectionSource } from '../sources/source';
import { SourceFatalError } from '../sources/source';
import { errorOfOpen, openFailure } from '../sources/source-errors';
import { sdkUrl, VCENTER_UNREACHABLE } from '../sources/vsphere/soap-transport';

/** How long a stop or a VM's cancel waits for the running inspection to wind down, in ms. */
export const CANCEL_WAIT_MS = 30_000;

/** Seed 000's InspectorService: start, add, stop, status, per-VM status and cancel. */
@Injectable()
export class InspectorService {
  private readonly logger = new Logger(InspectorService.name);

  constructor(
    private readonly repo: QueueRepository,
    private readonly tx: Transactional,
    private readonly runner: InspectionRunner,
    private readonly factory: SourceFactory,
    private readonly cipher: CredentialsCipher,
    private readonly config: InspectorConfig,
  ) {}

  async status(): Promise<InspectorStatusDto> {
    const run = await this.repo.current();
    return statusOf(run);
  }

  /**
   * started (connecting) → queue cleared (a new run) → VMs pending → the runner takes it to running.
   * The source is opened before the answer: refused credentials answer 400 with the fault, an
   * unreachable source 503, and the inspector is left in `error` with the message. As in seed 000,
   * the previous queue is replaced only once the source opened (`markInitialized`): until then, and
   * after a failed connection, `GET /vms/{id}/inspector` still shows the earlier run's results.
   */
  async start(req: StartInspectionRequest): Promise<InspectorStatusDto> {
    const { type, description, secret } = this.sourceOf(req);
    // A vCenter the settings refuse is refused before anything changes (and before any connection).
    if (type === 'vsphere') await this.factory.policy.check(new URL(String(description.url))).catch(fail);
    const vmIds = [...new Set(req.vmIds)];
    const id = randomUUID();
    const run = { id, sourceType: type };

    await this.tx.run(async (uow) => {
      const current = await this.repo.lockCurrent(uow.em);
      if (current && INSPECTOR_BUSY_STATES.includes(current.state)) throw busy(current);
      await this.repo.insertRun(uow.em, {
        id,
        sourceType: type,
        source: description,
        state: 'started',
        acceptedBy: this.runner.replicaId,
        correlationId: currentCorrelationId() ?? null,
        credentials: secret ? this.cipher.encrypt(secret, id) : null,
        credentialsKeyId: secret ? this.cipher.keyId : null,
      });
      await uow.emit(this.runner.runEvent(run, current?.state ?? 'ready', 'started'));
    });

    let source: InspectionSource;
    try {
      source = this.factory.create(type, description, secret);
      const signal = AbortSignal.timeout(OPEN_TIMEOUT_MS);
      await withTimeout(source.open(signal), OPEN_TIMEOUT_MS, () => openTimedOut(type));
    } catch (err) {
      const message = openFailure(err);
      await this.runner.failRun(id, message);
      throw errorOfOpen(err, message);
    }

    const state = await this.tx.run(async (uow) => {
      const locked = await this.repo.lockRun(uow.em, id);
      if (locked?.state !== 'started') return locked?.state ?? 'error';
      const queued = await this.repo.enqueue(uow.em, id, vmIds);
      await this.repo.markInitialized(uow.em, id);
      await uow.emitAll(queued.map((q) => this.runner.vmEvent(q.vmId, id, q.from, 'pending')));
      return 'started' as const;
    });
    if (state !== 'started') {
      await source.close();
      return { state };
    }
    this.runner.adoptSource(id, source);
    this.runner.kick();
    this.logger.log({ msg: 'inspection started', runId: id, source: type, vms: vmIds.length });
    return { state };
  }

  /** Adds VMs at the end of the running inspector's queue. */
  async add(vmIds: string[]): Promise<InspectorStatusDto> {
    const state = await this.tx.run(async (uow) => {
      const run = await this.lockCurrentRun(uow.em);
      if (run.state === 'started' && !run.initializedAt)
        throw new FerryError('LOCKED', 'the inspector is starting');
      const queued = await this.repo.enqueue(uow.em, run.id, [...new Set(vmIds)]);
      await uow.emitAll(queued.map((q) => this.runner.vmEvent(q.vmId, run.id, q.from, 'pending')));
      return run.state;
    });
    this.runner.kick();
    return { state };
  }

  /** Cancels every pending VM and the running ones; answers once they have wound down (or the wait ends). */
  async stop(): Promise<InspectorStatusDto> {
    const runId = await this.tx.run(async (uow) => {
      const run = await this.repo.lockCurrent(uow.em);
      if (!run || !INSPECTOR_BUSY_STATES.includes(run.state)) throw notRunning(run);
      if (run.state === 'canceling') return run.id;
      const canceled = await this.repo.cancelPending(uow.em, run.id);
      await this.repo.requestCancel(uow.em, run.id);
      const from = await this.repo.setRunState(uow.em, run.id, [run.state], 'canceling');
      await uow.emitAll([
        ...canceled.map((vmId) => this.runner.vmEvent(vmId, run.id, 'pending', 'canceled')),
        this.runner.runEvent(run, from, 'canceling'),
      ]);
      return run.id;
    });
    this.logger.log({ msg: 'inspector canceling', runId });
    await this.runner.settle(runId);
    this.runner.kick();
    const run = await this.waitUntil(
      async () => (await this.repo.findRun(runId))!,
      (r) => TERMINAL_RUN_STATES.includes(r.state),
    );
    return { state: run.state };
  }

  /** From the last run whose start connected: a start that failed to connect hides no earlier result. */
  async vmStatus(vmId: string): Promise<InspectionStatusDto> {
    const run = await this.repo.queueRun();
    const entry = run ? await this.repo.get(run.id, vmId) : null;
    return entry ? entryStatus(entry) : { state: 'not_found' };
  }

  /** Cancels one VM: a pending one at once; a running one is aborted and its snapshot removed. */
  async cancelVm(vmId: string): Promise<InspectionStatusDto> {
    const run = await this.repo.current();
    if (!run || !INSPECTOR_BUSY_STATES.includes(run.state)) throw notRunning(run);
    if (run.state === 'canceling') throw canceling();
    const state = await this.tx.run(async (uow) => {
      const entry = await this.repo.lockEntry(uow.em, run.id, vmId);
      if (!entry) throw FerryError.notFound(`VM "${vmId}" is not in the inspection queue`, { vmId });
      if (entry.state === 'pending') {
        await this.repo.cancelOne(uow.em, run.id, vmId);
        await uow.emit(this.runner.vmEvent(vmId, run.id, 'pending', 'canceled'));
        return 'canceled';
      }
      if (entry.state === 'running') {
        await this.repo.requestCancel(uow.em, run.id, vmId);
        return 'running';
      }
      if (entry.state === 'canceled') return 'canceled';
      throw FerryError.conflict(`VM "${vmId}" is already inspected (${entry.state})`, {
        vmId,
        state: entry.state,
      });
    });
    if (state !== 'running') return { state };
    this.runner.kick();
    const entry = await this.waitUntil(
      async () => (await this.repo.get(run.id, vmId))!,
      (e) => e.state !== 'running',
    );
    return entryStatus(entry);
  }

  async history(req: InspectionHistoryRequest): Promise<InspectionHistoryDto> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.repo.history(req.id, limit + 1, after);
    const page = pageOf(
      rows,
      limit,
      (r) => [r.pageAt, r.runId],
      (r) => ({
        ...placeOf(r),
        ...(r.results ? { results: r.results } : {}),
        runId: r.runId,
        source: r.sourceType,
      }),
    );
    return { vmId: req.id, ...page };
  }

  /**
   * One page of the queue that the per-VM statuses show (the latest run that connected), in its
   * order. The cursor names its run, so that a walk started before a new start stays in one queue.
   */
  async queue(req: InspectionQueueRequest): Promise<InspectionQueueDto> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['uuid', 'int']);
    const run = after ? await this.repo.findRun(after[0]!) : await this.repo.queueRun();
    if (after && !run)
      throw invalid('cursor', 'cursor must be the next_cursor of a previous page of this list');
    if (!run) return { runId: null, source: null, state: 'ready', items: [], next_cursor: null };
    const limit = pageLimit(req);
    const rows = await this.repo.page(run.id, req.state, limit + 1, after?.[1]);
    const page = pageOf(
      rows,
      limit,
      (r) => [r.runId, String(r.seq)],
      (r) => ({ vmId: r.vmId, ...placeOf(r), ...(r.concerns ? { concerns: r.concerns } : {}) }),
    );
    return { runId: run.id, source: run.sourceType, state: run.state, ...page };
  }

  private async lockCurrentRun(em: EntityManager): Promise<RunRecord> {
    const run = await this.repo.lockCurrent(em);
    if (!run || !INSPECTOR_BUSY_STATES.includes(run.state)) throw notRunning(run);
    if (run.state === 'canceling') throw canceling();
    return (await this.repo.lockRun(em, run.id))!;
  }

  private sourceOf(req: StartInspectionRequest): {
    type: InspectionSourceType;
    description: Record<string, unknown>;
    secret: VcenterSecret | null;
  } {
    if (req.VcenterCredentials && req.source) {
      throw invalid('source', 'name the VMs’ source once: VcenterCredentials or source, not both');
    }
    if (req.VcenterCredentials) {
      const { url, username, password } = req.VcenterCredentials;
      return {
        type: 'vsphere',
        description: { url: sdkUrl(url).toString() },
        secret: { username, password },
      };
    }
    if (!req.source)
      throw invalid('VcenterCredentials', 'VcenterCredentials is required (or source for a local source)');
    if (req.source.type === 'noop') {
      if (!this.config.INSPECTOR_NOOP_SOURCE) {
        throw invalid('source.type', 'the noop source is disabled: it needs INSPECTOR_NOOP_SOURCE=true');
      }
      return {
        type: 'noop',
        description: {
          delayMs: req.source.delayMs ?? 0,
          cancelDelayMs: req.source.cancelDelayMs ?? 0,
          failVmIds: req.source.failVmIds ?? [],
        },
        secret: null,
      };
    }
    if ([req.source.delayMs, req.source.cancelDelayMs, req.source.failVmIds].some((v) => v !== undefined)) {
      throw invalid('source', 'delayMs, cancelDelayMs and failVmIds belong to the noop source only');
    }
    return { type: 'local', description: {}, secret: null };
  }

  /** Re-reads `read()` every 50 ms until `done`, or CANCEL_WAIT_MS have passed; returns the last read. */
  private async waitUntil<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + CANCEL_WAIT_MS;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await sleep(50);
    }
  }
}

function fail(err: unknown): never {
  throw errorOfOpen(err);
}

function openTimedOut(type: InspectionSourceType): SourceFatalError {
  const detail = `no answer within ${OPEN_TIMEOUT_MS} ms`;
  const message = type === 'vsphere' ? VCENTER_UNREACHABLE : `the ${type} source gave ${detail}`;
  return new SourceFatalError('unreachable', message, undefined, detail);
}

function statusOf(run: RunRecord | null): InspectorStatusDto {
  if (!run) return { state: 'ready' };
  return run.error ? { state: run.state, error: run.error } : { state: run.state };
}

function entryStatus(entry: QueueRecord): InspectionStatusDto {
  return {
    state: entry.state,
    ...(entry.error ? { error: entry.error } : {}),
    ...(entry.results ? { results: entry.results } : {}),
  };
}

/** A VM's place in its run's queue, as history and queue pages show it. */
function placeOf(entry: Omit<QueueRecord, 'results'>): QueuePlaceDto {
  return {
    state: entry.state,
    ...(entry.error ? { error: entry.error } : {}),
    sequence: entry.seq,
    queuedAt: entry.queuedAt.toISOString(),
    ...(entry.startedAt ? { startedAt: entry.startedAt.toISOString() } : {}),
    ...(entry.finishedAt ? { finishedAt: entry.finishedAt.toISOString() } : {}),
  };
}

function invalid(field: string, message: string): FerryError {
  return FerryError.validation(message, [{ field, messages: [message] }]);
}

function busy(run: RunRecord): FerryError {
  return new FerryError('LOCKED', `the inspector is busy (${run.state})`, { state: run.state });
}

function canceling(): FerryError {
  return new FerryError('LOCKED', 'the inspector is canceling', { state: 'canceling' });
}

function notRunning(run: RunRecord | null): FerryError {
  const state: InspectorState = run?.state ?? 'ready';
  return FerryError.notFound(`the inspector is not running (${state})`, { state });
}
