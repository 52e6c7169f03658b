import { Inject, Injectable, Logger } from '@nestjs/common';
import { errorOf } from '@ferry/contracts';
import { EventFactory, ResumableRunner, Transactional } from '@ferry/platform';
import { DataSource } from 'typeorm';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import { DiskTransitions } from '../disks/disk-transitions';
import { DisksRepository } from '../disks/disks.repository';
import { ImportSlots } from '../imports/import-slots';
import { SourceAccess } from '../imports/source-access';
import { VOLUME_BACKEND } from '../backends/backend.provider';
import type { VolumeBackend } from '../backends/volume-backend';
import { runAttach } from './flows/attach.flow';
import { runCleanup } from './flows/cleanup.flow';
import { runDetach } from './flows/detach.flow';
import { runConvert } from './flows/convert.flow';
import { runFix } from './flows/fix.flow';
import { runImport } from './flows/import.flow';
import type { FlowDeps, GuestFixer } from './flows/flow-deps';
import { GUEST_FIXER } from '../fixes/guest-fixer';
import { runCreate, runDelete } from './flows/provision.flow';
import { OperationAbandoned, OperationCancelled, OperationContext } from './operation-context';
import type { OperationRecord } from './operations.repository';
import { OperationsRepository } from './operations.repository';

/** How often a replica looks whether a cancel was asked of one of its operations, in ms. */
const CANCEL_POLL_MS = 250;

/** Namespace of volume-daemon's advisory locks (the other half is the replica id's hash). */
const REPLICA_LOCK_NAMESPACE = 0x766f6c;

/**
 * Runs volume operations, and takes over the ones a crashed replica left unfinished.
 *
 * Each replica holds a session advisory lock on its own id for as long as it lives; an operation
 * records the replica running it (`claimed_by`). When Postgres drops a dead replica's connection its
 * lock goes, so "can I take that lock?" tells at once, without leases or clocks, whether an
 * operation's runner is gone. Recovery runs at start-up and then every VOLUME_RECOVERY_INTERVAL_MS.
 */
@Injectable()
export class OperationRunner extends ResumableRunner<OperationRecord> {
  private abandoned = false;
  private readonly shutdown = new AbortController();
  private readonly deps: FlowDeps;
  /** One per operation running here: aborted when its cancel is asked for (see watchCancels). */
  private readonly cancels = new Map<string, AbortController>();
  private cancelTimer?: NodeJS.Timeout;

  constructor(
    ds: DataSource,
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly disks: DisksRepository,
    private readonly operations: OperationsRepository,
    private readonly transitions: DiskTransitions,
    @Inject(VOLUME_BACKEND) backend: VolumeBackend,
    config: VolumeDaemonConfig,
    access: SourceAccess,
    @Inject(GUEST_FIXER) fixes: GuestFixer,
  ) {
    super(
      ds,
      {
        lockNamespace: REPLICA_LOCK_NAMESPACE,
        recoveryIntervalMs: config.VOLUME_RECOVERY_INTERVAL_MS,
        graceMs: config.SHUTDOWN_GRACE_MS,
      },
      new Logger(OperationRunner.name),
    );
    this.deps = {
      backend,
      retryMs: config.VOLUME_BACKEND_RETRY_MS,
      reattachAttempts: config.VOLUME_REATTACH_ATTEMPTS,
      signal: this.shutdown.signal,
      imports: {
        access,
        slots: new ImportSlots(config.VOLUME_IMPORT_CONCURRENCY),
        timeoutMs: config.VOLUME_IMPORT_TIMEOUT_MS,
        closeExport: (id) => access.closeExport(id),
      },
      fixes,
    };
  }

  override async onApplicationBootstrap(): Promise<void> {
    await super.onApplicationBootstrap();
    // A cancel may be asked of any replica: each looks for the ones of its own operations.
    this.cancelTimer = setInterval(() => void this.watchCancels(), CANCEL_POLL_MS);
    this.cancelTimer.unref();
  }

  override async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.cancelTimer);
    await super.beforeApplicationShutdown();
  }

  private async watchCancels(): Promise<void> {
    try {
      for (const id of await this.operations.cancelRequested([...this.cancels.keys()]))
        this.cancels.get(id)?.abort(new OperationCancelled(id));
    } catch (err) {
      this.logger.warn({ msg: 'could not look for cancels', error: (err as Error).message });
    }
  }

  protected unfinished(): Promise<OperationRecord[]> {
    return this.operations.unfinished();
  }

  protected claim(op: OperationRecord): Promise<boolean> {
    return this.operations.claim(op.id, op.claimedBy, this.replicaId);
  }

  // Past the grace nothing more is written for operations still running (they are resumed elsewhere).
  protected override abandon(): void {
    this.abandoned = true;
    // Children (qemu-img, nbdkit) die with it; another replica or the next start runs the import again.
    this.shutdown.abort(new Error('volume-daemon is shutting down'));
  }

  /** Runs an operation and waits for it (create and delete, which the caller waits for). */
  async runNow(op: OperationRecord): Promise<OperationRecord> {
    this.start(op);
    await this.runningNow(op.id);
    return (await this.operations.findById(op.id)) ?? op;
  }

  protected async run(op: OperationRecord, resumed: boolean): Promise<void> {
    const cancel = new AbortController();
    this.cancels.set(op.id, cancel);
    if (op.cancelRequested) cancel.abort(new OperationCancelled(op.id));
    const deps: FlowDeps = { ...this.deps, signal: AbortSignal.any([this.shutdown.signal, cancel.signal]) };
    try {
      await this.execute(op, resumed, deps);
    } finally {
      this.cancels.delete(op.id);
    }
  }

  private async execute(op: OperationRecord, resumed: boolean, deps: FlowDeps): Promise<void> {
    const ctx = new OperationContext(
      op,
      {
        abandoned: () => this.abandoned,
        tx: this.tx,
        events: this.events,
        disks: this.disks,
        operations: this.operations,
        transitions: this.transitions,
      },
      resumed,
    );
    try {
      // A create is recorded as executing when it is accepted; the others start pending (an import
      // stays pending until it has an import slot).
      if (op.status === 'pending' && op.type !== 'import') await this.operations.markExecuting(op.id);
      switch (op.type) {
        case 'create':
          return await runCreate(ctx, deps, this.disks, this.events, this.tx);
        case 'delete':
          return await runDelete(ctx, deps);
        case 'attach':
          return await runAttach(ctx, deps);
        case 'detach':
          return await runDetach(ctx, deps);
        case 'cleanup-test-failover':
          return await runCleanup(ctx, deps);
        case 'import':
          return await runImport(ctx, deps);
        case 'fix':
          return await runFix(ctx, deps);
        case 'convert':
          return await runConvert(ctx, deps);
        default: {
          const never: never = op.type;
          throw new Error(`unknown operation type ${String(never)}`);
        }
      }
    } catch (err) {
      if (err instanceof OperationAbandoned) return;
      // A flow settles its own failures; this is a bug or a lost database. Leave a record that says so.
      this.logger.error(
        { msg: 'operation crashed', operationId: op.id, type: op.type, error: (err as Error).message },
        (err as Error).stack,
      );
      await ctx
        .finish(
          { status: 'failed', error: errorOf(err) },
          { state: 'error', lastError: `operation ${op.id} crashed: ${(err as Error).message}` },
          'operation crashed',
        )
        .catch(() => undefined);
    }
  }
}
