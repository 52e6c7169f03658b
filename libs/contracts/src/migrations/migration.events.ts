import type {
  MigrationDto,
  MigrationProgressDto,
  MigrationStageDto,
  MigrationStageName,
  MigrationStatus,
} from './migration.dto';

// Published event types: never edit one in place. Subject: the migration id.
export const MigrationEvents = {
  CREATED: 'ferry.cleanup.migration.created',
  STAGE_CHANGED: 'ferry.cleanup.migration.stage-changed',
  PROGRESS: 'ferry.cleanup.migration.progress',
  /** Ended well: `planned` (mode plan), `completed`. */
  COMPLETED: 'ferry.cleanup.migration.completed',
  /** Ended badly: `failed`, `blocked` (the plan's blockers are in the migration's error). */
  FAILED: 'ferry.cleanup.migration.failed',
  CANCELED: 'ferry.cleanup.migration.canceled',
  /** Any other change of status (running, awaiting_cutover, canceling). */
  STATUS_CHANGED: 'ferry.cleanup.migration.status-changed',
} as const;

export interface MigrationEventData {
  [MigrationEvents.CREATED]: { migration: MigrationDto };
  [MigrationEvents.STAGE_CHANGED]: { id: string; status: MigrationStatus; stage: MigrationStageDto };
  /** At most about once a second per stage, while bytes move. */
  [MigrationEvents.PROGRESS]: { id: string; stage: MigrationStageName; progress: MigrationProgressDto };
  [MigrationEvents.COMPLETED]: { migration: MigrationDto };
  [MigrationEvents.FAILED]: { migration: MigrationDto };
  [MigrationEvents.CANCELED]: { migration: MigrationDto };
  [MigrationEvents.STATUS_CHANGED]: {
    id: string;
    from: MigrationStatus | null;
    to: MigrationStatus;
    reason: string;
  };
}
