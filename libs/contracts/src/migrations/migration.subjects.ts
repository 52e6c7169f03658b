// Published subjects: never edit one in place. Migrations live in the cleanup service, beside seed
// 002's failover jobs.
export const MigrationSubjects = {
  CREATE: 'cleanup.migration.create',
  LIST: 'cleanup.migration.list',
  GET: 'cleanup.migration.get',
  PLAN: 'cleanup.migration.plan',
  REPORT: 'cleanup.migration.report',
  CUTOVER: 'cleanup.migration.cutover',
  CANCEL: 'cleanup.migration.cancel',
} as const;
