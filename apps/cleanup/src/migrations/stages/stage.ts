import type { MigrationProgressDto, VcenterCredentials } from '@ferry/contracts';
import type { MigrationChange, MigrationRecord } from '../migrations.repository';

/** What a stage handler gets: the migration as it is now, and the ways to record what it does. */
export interface StageRun {
  /** Re-read after each `update`. */
  m: MigrationRecord;
  /** Aborted when a cancel is asked for, or the service shuts down past its grace. */
  signal: AbortSignal;
  /** Records a change (what the stage made, as soon as it made it) and returns the migration after it. */
  update(change: MigrationChange): Promise<MigrationRecord>;
  /** The stage's bytes, for a progress bar (throttled: at most about once a second). */
  progress(p: MigrationProgressDto): void;
  /** The vCenter credentials, decrypted for this call only. */
  credentials(): VcenterCredentials;
  /** Tests only (CLEANUP_MIGRATION_PAUSE_AFTER_STAGE): stops dead here until killed or canceled. */
  failpoint(point: string): Promise<void>;
}

/** How a stage ended: done (or skipped), with what it found; `stop` ends the migration here. */
export interface StageOutcome {
  detail: string;
  skipped?: boolean;
  change?: MigrationChange;
  /**
   * `planned`: mode plan ends after PLAN; `blocked`: the plan found blockers; both remove Ferry's
   * copies and skip the rest. `awaiting_cutover`: validated, waiting for a manual cutover.
   */
  stop?: 'planned' | 'blocked';
}

export type StageHandler = (run: StageRun) => Promise<StageOutcome>;
