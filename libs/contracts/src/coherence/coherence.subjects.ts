// Published subjects: never edit one in place.
export const CoherenceSubjects = {
  STATUS: 'observer.coherence.status',
  SWEEP: 'observer.coherence.sweep',
  ISSUE_LIST: 'observer.issue.list',
} as const;
