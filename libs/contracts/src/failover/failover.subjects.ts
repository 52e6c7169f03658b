// Published subjects: never edit one in place.
export const FailoverSubjects = {
  TEST: 'cleanup.failover.test',
  CLEANUP: 'cleanup.failover.cleanup',
  JOB_LIST: 'cleanup.job.list',
  JOB_GET: 'cleanup.job.get',
  JOB_RESUME: 'cleanup.job.resume',
} as const;
