import type { BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Injectable, Logger } from '@nestjs/common';
import { isPgUnavailable } from '@ferry/platform';
import { InspectorConfig } from '../config/inspector.config';
import { InspectionRunner } from '../runner/inspection-runner';
import type { ExportRecord } from './export.repository';
import { ExportRepository } from './export.repository';
import { ExportSessions } from './export-sessions';

/**
 * Closes exports: the importer's `inspector.export.close`, a failed open, and, in every recovery pass
 * of the inspector, each open export whose lease ran out (its replica's, or a dead replica's). Closing
 * removes the snapshot whatever else happened; a removal that fails leaves the export open with
 * `last_error`, and the next pass tries again. So a replica killed mid-export leaves no snapshot
 * once the lease has run out.
 */
@Injectable()
export class ExportReaper implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExportReaper.name);
  /** Closes in progress on this replica, so that a close and a recovery pass never race here. */
  private readonly closing = new Map<string, Promise<string | null>>();
  private pass?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly repo: ExportRepository,
    private readonly sessions: ExportSessions,
    private readonly runner: InspectionRunner,
    private readonly config: InspectorConfig,
  ) {}

  onModuleInit(): void {
    // In the background: a removal (a consolidation) can take minutes, and must not hold up inspections.
    this.runner.addRecovery(async () => {
      if (!this.pass && !this.stopped) this.pass = this.recover().finally(() => (this.pass = undefined));
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    const grace = new Promise((resolve) => setTimeout(resolve, this.config.SHUTDOWN_GRACE_MS).unref());
    await Promise.race([Promise.allSettled([this.pass, ...this.closing.values()]), grace]);
  }

  /**
   * Removes the export's snapshot (found by name and description when its ref was never recorded),
   * marks it closed, forgets its credentials and logs out. Returns why it failed, or null once closed.
   */
  close(e: ExportRecord): Promise<string | null> {
    let done = this.closing.get(e.id);
    if (!done) {
      done = this.closeOnce(e).finally(() => this.closing.delete(e.id));
      this.closing.set(e.id, done);
    }
    return done;
  }

  /** One recovery pass: expired exports closed, sessions of exports no longer ours logged out. */
  async recover(): Promise<void> {
    try {
      for (const e of await this.repo.expired()) {
        if (this.stopped) return;
        if (e.claimedBy !== this.runner.replicaId) {
          if (await this.runner.isAlive(e.claimedBy)) continue;
          if (!(await this.repo.adopt(e.id, e.claimedBy, this.runner.replicaId))) continue;
        }
        this.logger.warn({ msg: 'closing an export whose lease ran out', exportId: e.id, vmId: e.vmId });
        await this.close(e);
      }
      const ids = this.sessions.ids();
      if (ids.length === 0) return;
      const mine = await this.repo.stillMine(ids, this.runner.replicaId);
      for (const id of ids) if (!mine.has(id) && !this.closing.has(id)) await this.sessions.drop(id);
    } catch (err) {
      // An outage is the runner's to report (once); the next pass tries again.
      if (!isPgUnavailable(err))
        this.logger.error({ msg: 'export recovery failed', error: (err as Error).message });
    }
  }

  private async closeOnce(e: ExportRecord): Promise<string | null> {
    try {
      if (e.snapshotIntent === 'intended' || e.snapshotIntent === 'created') {
        const session = await this.sessions.get(e);
        await session.removeSnapshot(
          e.vmId,
          e.snapshotRef,
          e.snapshotName ?? '',
          e.snapshotDescription ?? '',
        );
      }
      await this.repo.markClosed(e.id);
      await this.sessions.drop(e.id);
      this.logger.log({ msg: 'export closed', exportId: e.id, vmId: e.vmId, snapshot: e.snapshotIntent });
      return null;
    } catch (err) {
      const message = (err as Error).message;
      this.logger.error({ msg: 'export close failed; recovery retries it', exportId: e.id, error: message });
      await this.repo.closeFailed(e.id, message).catch(() => undefined);
      return message;
    }
  }
}
