import type { CoherenceIssueDto } from './coherence.dto';

// Published event types: never edit one in place.
export const CoherenceEvents = {
  ISSUE_OPENED: 'ferry.observer.issue.opened',
  ISSUE_RESOLVED: 'ferry.observer.issue.resolved',
  ISSUE_REPAIRED: 'ferry.observer.issue.repaired',
} as const;

export interface CoherenceEventData {
  [CoherenceEvents.ISSUE_OPENED]: { issue: CoherenceIssueDto };
  [CoherenceEvents.ISSUE_RESOLVED]: { issue: CoherenceIssueDto };
  /** What was done about it and why; `issue.repair` has the outcome. */
  [CoherenceEvents.ISSUE_REPAIRED]: { issue: CoherenceIssueDto };
}
