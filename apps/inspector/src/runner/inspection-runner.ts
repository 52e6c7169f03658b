import { randomUUID } from 'node:crypto';
import type {
  BeforeApplicationShutdown,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import type { CloudEvent, InspectionResults } from '@ferry/contracts';
import { INSPECTOR_SNAPSHOT_NAME, InspectorEvents } from '@ferry/contracts';
import type { UnitOfWork } from '@ferry/platform';
import {
  EventFactory,
  ReplicaLiveness,
  isPgUnavailable,
  runWithContext,
  Transactional,
  whileDatabaseDown,
} from '@ferry/platform';
import { DataSource } from 'typeorm';
import { InspectorConfig } from '../config/inspector.config';
import { CredentialsCipher } from '@ferry/platform';
import type { Outcome, QueueRecord, RunRecord } from '../queue/queue.repository';
import { QueueRepository, TERMINAL_RUN_STATES } from '../queue/queue.repository';
import { SourceFactory } from '../sources/source-factory';
import type { InspectionSource, SnapshotRef } from '../sources/source';
import { SourceFatalError, VmInspectionError } from '../sources/source';

/** Namespace of the inspector's replica advisory locks. */
const REPLICA_LOCK_NAMESPACE = 0x696e73;
/** An interrupted VM is queued again this many times at most; then it is marked `error`. */
const MAX_ATTEMPTS = 2;
/** Recovery (dead replicas' VMs, leftover snapshots) runs every this many polls. */
const RECOVER_EVERY = 5;
/** Limit of opening a source (connect and log in), in ms. */
export const OPEN_TIMEOUT_MS = 60_000;

interface ActiveVm {
  runId: string;
  vmId: string;
  controller: AbortController;
  /** Why it was aborted: `canceled`, `shutdown`, `timeout`, `taken over`, or the run's state. */
  reason?: string;
}

/**
 * Works the current run's queue on this replica: claims pending VMs first queued first (at most
 * INSPECTOR_CONCURRENCY running across all replicas), inspects each between a snapshot and its
 * removal, records the outcome and hands the slot to the next pending VM in the same statement.
 *
 * Snapshots are never left behind: the intent (run, VM, name) is committed before the snapshot is
 * asked for; the snapshot is removed whatever the inspection's outcome; a removal that fails, and
 * the snapshots of a replica that died, are removed by recovery (here and at every start).
 */
@Injectable()
export class InspectionRunner
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(InspectionRunner.name);
  private readonly liveness: ReplicaLiveness;
  private readonly active = new Map<string, ActiveVm>();
  private readonly chains = new Set<Promise<void>>();
  private readonly sources = new Map<string, Promise<InspectionSource>>();
  private readonly recoveries: (() => Promise<void>)[] = [];
  private loop?: Promise<void>;
  private wake?: () => void;
  private kicked = false;
  private closing = false;
  private ticks = 0;
  /** This replica's share of the inspector's slots, as of the last claim. */
  private share = 1;

  constructor(
    ds: DataSource,
    private readonly repo: QueueRepository,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly factory: SourceFactory,
    private readonly cipher: CredentialsCipher,
    private readonly config: InspectorConfig,
  ) {
    this.liveness = new ReplicaLiveness(ds, REPLICA_LOCK_NAMESPACE);
  }

  get replicaId(): string {
    return this.liveness.replicaId;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.liveness.hold();
    await this.recover();
    this.loop = this.run();
  }

  /** Graceful stop: running VMs are aborted, their snapshots removed, and they go back to the queue. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.loop;
    for (const vm of this.active.values()) this.abort(vm, 'shutdown');
    const grace = new Promise((resolve) => setTimeout(resolve, this.config.SHUTDOWN_GRACE_MS).unref());
    await Promise.race([Promise.allSettled([...this.chains]), grace]);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const runId of [...this.sources.keys()]) await this.dropSource(runId);
    await this.liveness.release();
  }

  /** Something changed (a start, VMs added): look for work now instead of at the next poll. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Hands over the source a start opened, so the run's first VMs need no second login. */
  adoptSource(runId: string, source: InspectionSource): void {
    if (this.sources.has(runId)) void source.close();
    else this.sources.set(runId, Promise.resolve(source));
  }

  isAlive(replicaId: string): Promise<boolean> {
    return this.liveness.isAlive(replicaId);
  }

  /**
   * Adds work to every recovery pass (at start-up, once this replica holds its liveness lock, and
   * every RECOVER_EVERY polls), so that other features' leftovers (exports' snapshots) are found on
   * the same schedule. The work should return quickly and handle its own errors.
   */
  addRecovery(work: () => Promise<void>): void {
    this.recoveries.push(work);
  }

  private async run(): Promise<void> {
    let databaseDown = false;
    while (!this.closing) {
      try {
        await this.tick();
        if (databaseDown) this.logger.log({ msg: 'the database is back; inspecting again' });
        databaseDown = false;
      } catch (err) {
        // An outage is said once, not every poll; anything else is a failure each time.
        if (!isPgUnavailable(err))
          this.logger.error({ msg: 'inspector poll failed', error: (err as Error).message });
        else if (!databaseDown)
          this.logger.warn({
            msg: 'the database is unavailable; polling until it is back',
            error: (err as Error).message,
          });
        databaseDown = databaseDown || isPgUnavailable(err);
      }
      if (this.kicked) {
        this.kicked = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.config.INSPECTOR_POLL_INTERVAL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async tick(): Promise<void> {
    if (++this.ticks % RECOVER_EVERY === 0) await this.recover();
    let run = await this.repo.current();
    if (!run) return;
    if (run.state === 'started') run = await this.promote(run);
    if (run.state === 'running' && !this.closing && (await this.mayWork(run))) await this.fillSlots(run);
    await this.checkAborts(run.id);
    if (run.state === 'running' || run.state === 'canceling') await this.settle(run.id);
    await this.closeIdleSources(run);
  }

  /** started → running once the start has queued its VMs; a start whose replica died fails the run. */
  private async promote(run: RunRecord): Promise<RunRecord> {
    if (!run.initializedAt) {
      if (run.acceptedBy !== this.replicaId && !(await this.liveness.isAlive(run.acceptedBy))) {
        await this.failRun(run.id, 'the replica that accepted the start stopped before it connected');
      }
      return run;
    }
    await this.tx.run(async (uow) => {
      const from = await this.repo.setRunState(uow.em, run.id, ['started'], 'running');
      if (from) await uow.emit(this.runEvent(run, from, 'running'));
    });
    return { ...run, state: 'running' };
  }

  /** Whether this replica can read the run's credentials; a run nobody can read any more fails. */
  private async mayWork(run: RunRecord): Promise<boolean> {
    if (!run.credentials || run.credentialsKeyId === this.cipher.keyId) return true;
    if (!(await this.liveness.isAlive(run.acceptedBy))) {
      await this.failRun(
        run.id,
        'the vCenter credentials are gone: the replica that held them stopped and INSPECTOR_CREDENTIALS_KEY is not set',
      );
    }
    return false;
  }

  private activeOf(runId: string): number {
    let n = 0;
    for (const vm of this.active.values()) if (vm.runId === runId) n++;
    return n;
  }

  /**
   * Claims pending VMs for the free slots: this replica's fair share of INSPECTOR_CONCURRENCY (split
   * among the live replicas) and the inspector's, whichever is fewer.
   */
  private async fillSlots(run: RunRecord): Promise<void> {
    this.share = Math.ceil(this.config.INSPECTOR_CONCURRENCY / (await this.liveness.count()));
    const free = this.share - this.activeOf(run.id);
    if (free <= 0) return;
    const claimed = await this.tx.run(async (uow) => {
      const locked = await this.repo.lockRun(uow.em, run.id);
      if (locked?.state !== 'running') return [];
      const { pending, running } = await this.repo.counts(uow.em, run.id);
      const n = Math.min(free, this.config.INSPECTOR_CONCURRENCY - running, pending);
      if (n <= 0) return [];
      const rows = await this.repo.claim(uow.em, run.id, this.replicaId, n);
      await uow.emitAll(rows.map((r) => this.vmEvent(r.vmId, run.id, 'pending', 'running')));
      return rows;
    });
    for (const row of claimed) this.startChain(run, row);
  }

  private startChain(run: RunRecord, first: QueueRecord): void {
    const chain = runWithContext({ correlationId: run.correlationId ?? run.id }, async () => {
      let row: QueueRecord | null = first;
      while (row) row = await this.inspectOne(run, row);
    }).catch((err: unknown) => {
      this.logger.error({ msg: 'inspection chain failed', runId: run.id, error: (err as Error).message });
    });
    this.chains.add(chain);
    void chain.finally(() => {
      this.chains.delete(chain);
      this.kick();
    });
  }

  /** Inspects one VM and records how it ended; returns the VM claimed next in its slot, if any. */
  private async inspectOne(run: RunRecord, row: QueueRecord): Promise<QueueRecord | null> {
    const key = `${run.id}/${row.vmId}`;
    const vm: ActiveVm = { runId: run.id, vmId: row.vmId, controller: new AbortController() };
    this.active.set(key, vm);
    const timer = setTimeout(() => this.abort(vm, 'timeout'), this.config.INSPECTOR_VM_TIMEOUT_MS);
    let fatal: SourceFatalError | undefined;
    let outcome: Outcome;
    // Postgres went away under the inspection (an intent could not be written): not the VM's fault.
    let databaseDown = false;
    try {
      outcome = await this.inspect(run, row.vmId, vm);
    } catch (err) {
      if (err instanceof SourceFatalError) fatal = err;
      databaseDown = isPgUnavailable(err);
      outcome = this.outcomeOf(err, vm);
    } finally {
      clearTimeout(timer);
      this.active.delete(key);
    }
    // The outcome lives only here until it commits: an outage delays it, and a shutdown meanwhile
    // leaves the VM running under this (then dead) replica, for recovery to queue again.
    const durable = <T>(work: () => Promise<T>) => whileDatabaseDown(work, () => this.closing);
    if (vm.reason === 'shutdown' || vm.reason === 'taken over' || databaseDown) {
      if (vm.reason !== 'taken over')
        await durable(() => this.tx.run((uow) => this.requeue(uow, run.id, row.vmId)));
      return null;
    }
    const next = !this.closing && !fatal && this.activeOf(run.id) < this.share;
    const result = await durable(() =>
      this.tx.run(async (uow) => {
        const r = await this.repo.finish(uow.em, run.id, row.vmId, this.replicaId, outcome, next);
        const events: CloudEvent[] = [];
        if (r.finished) events.push(...this.outcomeEvents(run.id, row.vmId, outcome));
        if (r.next) events.push(this.vmEvent(r.next.vmId, run.id, 'pending', 'running'));
        await uow.emitAll(events);
        return r;
      }),
    );
    if (result.finished) this.logger.log({ msg: `VM ${outcome.state}`, runId: run.id, vmId: row.vmId });
    if (fatal) await this.failRun(run.id, fatal.message);
    if (!result.next) await this.settle(run.id);
    return result.next;
  }

  /** Snapshot, inspect, remove the snapshot: the removal happens whatever the inspection did. */
  private async inspect(run: RunRecord, vmId: string, vm: ActiveVm): Promise<Outcome> {
    const started = Date.now();
    const source = await this.sourceFor(run);
    const signal = vm.controller.signal;
    if (!source.snapshots)
      return {
        state: 'completed',
        results: this.stamp(await source.inspect(vmId, null, signal), started, null),
      };

    const intentId = randomUUID();
    const description = `ferry inspector run ${run.id}`;
    await this.repo.recordIntent({
      id: intentId,
      runId: run.id,
      vmId,
      name: INSPECTOR_SNAPSHOT_NAME,
      description,
      claimedBy: this.replicaId,
    });
    let ref: SnapshotRef | null = null;
    let results: InspectionResults | undefined;
    let failure: unknown;
    try {
      // Not aborted half-way: a snapshot asked for and then forgotten is what leaks.
      ref = await source.createSnapshot(
        vmId,
        INSPECTOR_SNAPSHOT_NAME,
        description,
        new AbortController().signal,
      );
      await this.repo.intentCreated(intentId, ref);
      signal.throwIfAborted();
      results = await source.inspect(vmId, ref, signal);
    } catch (err) {
      failure = err;
    }
    const removal = await this.removeSnapshot(source, { id: intentId, vmId, ref, description });
    if (failure !== undefined) throw failure;
    if (removal) {
      throw new VmInspectionError(
        `inspected, but its snapshot could not be removed (the inspector keeps trying): ${removal}`,
      );
    }
    return { state: 'completed', results: this.stamp(results!, started, INSPECTOR_SNAPSHOT_NAME) };
  }

  /** Returns why the removal failed, or null when the snapshot is gone. */
  private async removeSnapshot(
    source: InspectionSource,
    intent: { id: string; vmId: string; ref: SnapshotRef | null; description: string },
  ): Promise<string | null> {
    try {
      await source.removeSnapshot(intent.vmId, intent.ref, INSPECTOR_SNAPSHOT_NAME, intent.description);
      await this.repo.intentRemoved(intent.id);
      return null;
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error({
        msg: 'snapshot removal failed; recovery retries it',
        vmId: intent.vmId,
        error: message,
      });
      await this.repo.intentFailed(intent.id, message).catch(() => undefined);
      return message;
    }
  }

  private stamp(results: InspectionResults, started: number, snapshot: string | null): InspectionResults {
    return {
      ...results,
      durationMs: Date.now() - started,
      snapshot: snapshot ? { name: snapshot, removed: true } : null,
    };
  }

  private outcomeOf(err: unknown, vm: ActiveVm): Outcome {
    if (vm.reason === 'timeout') {
      return {
        state: 'error',
        error: `inspection took longer than ${this.config.INSPECTOR_VM_TIMEOUT_MS} ms`,
      };
    }
    if (vm.reason) return { state: 'canceled', error: vm.reason === 'canceled' ? undefined : vm.reason };
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof VmInspectionError) && !(err instanceof SourceFatalError)) {
      this.logger.error({ msg: 'inspection failed unexpectedly', vmId: vm.vmId, error: message });
    }
    return { state: 'error', error: message };
  }

  private abort(vm: ActiveVm, reason: string): void {
    if (vm.reason) return;
    vm.reason = reason;
    vm.controller.abort(new Error(reason));
  }

  private async checkAborts(runId: string): Promise<void> {
    const mine = [...this.active.values()].filter((vm) => vm.runId === runId && !vm.reason);
    if (mine.length === 0) return;
    const abort = await this.repo.toAbort(
      runId,
      mine.map((vm) => vm.vmId),
      this.replicaId,
    );
    for (const vm of mine) {
      const reason = abort.get(vm.vmId);
      if (reason) this.abort(vm, reason);
    }
  }

  /** running → done when nothing is left; canceling → canceled when nothing runs any more. */
  async settle(runId: string): Promise<void> {
    const ended = await this.tx.run(async (uow) => {
      const run = await this.repo.lockRun(uow.em, runId);
      if (!run || (run.state !== 'running' && run.state !== 'canceling')) return false;
      const { pending, running } = await this.repo.counts(uow.em, runId);
      if (running > 0 || (run.state === 'running' && pending > 0)) return false;
      const to = run.state === 'running' ? 'done' : 'canceled';
      const canceled = await this.repo.cancelPending(uow.em, runId);
      const from = await this.repo.setRunState(uow.em, runId, [run.state], to);
      await uow.emitAll([
        ...canceled.map((vmId) => this.vmEvent(vmId, runId, 'pending', 'canceled')),
        this.runEvent(run, from, to),
      ]);
      return true;
    });
    if (ended) await this.repo.wipeCredentials(runId);
  }

  /** A fatal error stops the inspector: its pending VMs are canceled and its running ones aborted. */
  async failRun(runId: string, message: string): Promise<void> {
    await this.tx.run(async (uow) => {
      const run = await this.repo.lockRun(uow.em, runId);
      if (!run || TERMINAL_RUN_STATES.includes(run.state)) return;
      const canceled = await this.repo.cancelPending(
        uow.em,
        runId,
        `not inspected: the inspector stopped: ${message}`,
      );
      await this.repo.requestCancel(uow.em, runId);
      const from = await this.repo.setRunState(uow.em, runId, [run.state], 'error', message);
      await uow.emitAll([
        ...canceled.map((vmId) => this.vmEvent(vmId, runId, 'pending', 'canceled', message)),
        this.runEvent(run, from, 'error', message),
      ]);
    });
    this.logger.error({ msg: 'inspector stopped by a fatal error', runId, error: message });
    for (const vm of this.active.values()) if (vm.runId === runId) this.abort(vm, 'the inspector is error');
    await this.repo.wipeCredentials(runId);
  }

  // ---- sources ---------------------------------------------------------------------------------

  /** The run's source, opened once per replica and shared by its VMs. */
  private sourceFor(run: RunRecord): Promise<InspectionSource> {
    let source = this.sources.get(run.id);
    if (!source) {
      source = this.openSource(run);
      this.sources.set(run.id, source);
      source.catch(() => this.sources.delete(run.id));
    }
    return source;
  }

  private async openSource(run: RunRecord): Promise<InspectionSource> {
    let secret = null;
    if (run.credentials) {
      try {
        secret = this.cipher.decrypt(run.credentials, run.id);
      } catch {
        throw new SourceFatalError(
          'other',
          'the run’s vCenter credentials cannot be decrypted with this key',
        );
      }
    } else if (run.sourceType === 'vsphere') {
      throw new SourceFatalError('other', 'the run’s vCenter credentials are gone');
    }
    const source = this.factory.create(run.sourceType, run.source, secret);
    await source.open(AbortSignal.timeout(OPEN_TIMEOUT_MS));
    return source;
  }

  private async dropSource(runId: string): Promise<void> {
    const source = this.sources.get(runId);
    this.sources.delete(runId);
    await source?.then((s) => s.close()).catch(() => undefined);
  }

  /** Closes the sources of runs that ended (or are no longer current) once none of their VMs runs here. */
  private async closeIdleSources(current: RunRecord): Promise<void> {
    for (const runId of [...this.sources.keys()]) {
      if (this.activeOf(runId) > 0) continue;
      if (runId === current.id && !TERMINAL_RUN_STATES.includes(current.state)) continue;
      if (runId !== current.id) {
        const run = await this.repo.findRun(runId);
        if (run && !TERMINAL_RUN_STATES.includes(run.state)) continue;
      }
      await this.dropSource(runId);
    }
  }

  // ---- recovery --------------------------------------------------------------------------------

  /**
   * Takes over what dead replicas left: VMs they were inspecting (their snapshots are removed, then
   * they are queued again, or marked `error` after MAX_ATTEMPTS) and snapshots nobody removed.
   */
  async recover(): Promise<void> {
    try {
      for (const orphan of await this.repo.runningElsewhere(this.replicaId)) {
        if (await this.liveness.isAlive(orphan.claimedBy)) continue;
        const adopted = await this.tx.run((uow) =>
          this.repo.adopt(uow.em, orphan.runId, orphan.vmId, orphan.claimedBy, this.replicaId),
        );
        if (adopted) await this.recoverVm(orphan.runId, orphan.vmId, orphan.attempts);
      }
      await this.removeLeftoverSnapshots();
    } catch (err) {
      this.logger.error({ msg: 'inspector recovery failed', error: (err as Error).message });
    }
    for (const work of this.recoveries) {
      await work().catch((err: unknown) =>
        this.logger.error({ msg: 'recovery failed', error: (err as Error).message }),
      );
    }
  }

  private async recoverVm(runId: string, vmId: string, attempts: number): Promise<void> {
    const leftover = await this.removeLeftoverSnapshots(runId, vmId);
    const run = await this.repo.findRun(runId);
    this.logger.warn({ msg: 'took over a VM whose replica stopped mid-inspection', runId, vmId, leftover });
    await this.tx.run(async (uow) => {
      if (run?.state === 'running' && attempts < MAX_ATTEMPTS && !leftover) {
        await this.requeue(uow, runId, vmId);
        return;
      }
      const outcome: Outcome =
        run?.state === 'running'
          ? {
              state: 'error',
              error: leftover
                ? `interrupted: its replica stopped, and its snapshot could not be removed yet: ${leftover}`
                : `interrupted ${attempts} times: its replica stopped while inspecting it`,
            }
          : { state: 'canceled', error: `interrupted: its replica stopped; the inspector is ${run?.state}` };
      const r = await this.repo.finish(uow.em, runId, vmId, this.replicaId, outcome, false);
      if (r.finished) await uow.emitAll(this.outcomeEvents(runId, vmId, outcome));
    });
    await this.settle(runId);
  }

  private async requeue(uow: UnitOfWork, runId: string, vmId: string): Promise<void> {
    if (await this.repo.requeue(uow.em, runId, vmId, this.replicaId)) {
      await uow.emit(this.vmEvent(vmId, runId, 'running', 'pending'));
    }
  }

  /**
   * Removes snapshots whose inspection is over (or whose replica died). Returns the last failure for
   * the VM named, if any. A snapshot of a VM being inspected by a live replica is left alone.
   */
  private async removeLeftoverSnapshots(runId?: string, vmId?: string): Promise<string | null> {
    let failure: string | null = null;
    for (const intent of await this.repo.openIntents()) {
      const named = intent.runId === runId && intent.vmId === vmId;
      if (runId && !named) continue;
      // In progress (here, or on a replica whose VM recovery will name it): not a leftover yet.
      if (!named && (this.active.has(`${intent.runId}/${intent.vmId}`) || intent.vmState === 'running'))
        continue;
      if (
        intent.claimedBy !== this.replicaId &&
        !(await this.repo.adoptIntent(intent.id, intent.claimedBy, this.replicaId))
      )
        continue;
      const run = await this.repo.findRun(intent.runId);
      if (!run) continue;
      try {
        const source = await this.sourceFor(run);
        failure = await this.removeSnapshot(source, intent);
        if (!failure)
          this.logger.warn({ msg: 'removed a leftover snapshot', runId: run.id, vmId: intent.vmId });
      } catch (err) {
        failure = (err as Error).message;
        await this.repo.intentFailed(intent.id, failure);
      }
      if (TERMINAL_RUN_STATES.includes(run.state)) await this.repo.wipeCredentials(run.id);
    }
    return failure;
  }

  // ---- events ----------------------------------------------------------------------------------

  private outcomeEvents(runId: string, vmId: string, outcome: Outcome): CloudEvent[] {
    const events: CloudEvent[] = [this.vmEvent(vmId, runId, 'running', outcome.state, outcome.error)];
    if (outcome.results) {
      events.push(
        this.events.create(InspectorEvents.VM_INSPECTED, vmId, { runId, vmId, results: outcome.results }),
      );
    }
    return events;
  }

  /** A VM's state change, as the runner and the API's changes both record it. */
  vmEvent(
    vmId: string,
    runId: string,
    from: QueueRecord['state'] | null,
    to: QueueRecord['state'],
    error?: string,
  ): CloudEvent {
    return this.events.create(InspectorEvents.VM_STATE_CHANGED, vmId, {
      runId,
      vmId,
      from,
      to,
      ...(error ? { error } : {}),
    });
  }

  runEvent(
    run: Pick<RunRecord, 'id' | 'sourceType'>,
    from: RunRecord['state'] | null,
    to: RunRecord['state'],
    error?: string,
  ): CloudEvent {
    return this.events.create(InspectorEvents.STATE_CHANGED, run.id, {
      runId: run.id,
      source: run.sourceType,
      from,
      to,
      ...(error ? { error } : {}),
    });
  }
}
