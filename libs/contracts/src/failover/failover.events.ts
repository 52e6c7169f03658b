import type { FailoverJobDto, FailoverJobStatus, FailoverStepDto } from './failover.dto';

// Published event types: never edit one in place.
export const FailoverEvents = {
  JOB_CREATED: 'ferry.cleanup.job.created',
  JOB_STATUS_CHANGED: 'ferry.cleanup.job.status-changed',
  JOB_STEP_CHANGED: 'ferry.cleanup.job.step-changed',
} as const;

export interface FailoverEventData {
  [FailoverEvents.JOB_CREATED]: { job: FailoverJobDto };
  /** `to: cleanup_failed` carries the report: which volume is where and what to do. */
  [FailoverEvents.JOB_STATUS_CHANGED]: {
    id: string;
    vm_name: string;
    from: FailoverJobStatus | null;
    to: FailoverJobStatus;
    reason: string;
    job: FailoverJobDto;
  };
  [FailoverEvents.JOB_STEP_CHANGED]: { id: string; vm_name: string; step: FailoverStepDto };
}
