import type { DiskDto, DiskState, OperationProgressDto, VolumeOperationDto } from './disk.dto';

// Published event types: never edit one in place.
export const DiskEvents = {
  CREATED: 'ferry.volume-daemon.disk.created',
  ATTACHED: 'ferry.volume-daemon.disk.attached',
  DETACHED: 'ferry.volume-daemon.disk.detached',
  DELETED: 'ferry.volume-daemon.disk.deleted',
  STATE_CHANGED: 'ferry.volume-daemon.disk.state-changed',
  OPERATION_COMPLETED: 'ferry.volume-daemon.operation.completed',
  OPERATION_FAILED: 'ferry.volume-daemon.operation.failed',
  /** Throttled (at most one a second per operation, and at each stage change): an import's bytes. */
  OPERATION_PROGRESS: 'ferry.volume-daemon.operation.progress',
} as const;

export interface DiskEventData {
  [DiskEvents.CREATED]: { disk: DiskDto };
  [DiskEvents.ATTACHED]: { disk: DiskDto; vmId: string; operationId: string };
  /** `operationId` is null when no operation detached it: a reconcile found the device gone from the VM. */
  [DiskEvents.DETACHED]: { disk: DiskDto; vmId: string; operationId: string | null };
  [DiskEvents.DELETED]: { id: string; name: string };
  [DiskEvents.STATE_CHANGED]: {
    id: string;
    from: DiskState;
    to: DiskState;
    generation: number;
    vmId: string | null;
    operationId: string | null;
    reason: string;
  };
  [DiskEvents.OPERATION_COMPLETED]: { operation: VolumeOperationDto };
  [DiskEvents.OPERATION_FAILED]: { operation: VolumeOperationDto };
  [DiskEvents.OPERATION_PROGRESS]: { operationId: string; diskId: string; progress: OperationProgressDto };
}
