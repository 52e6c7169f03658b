import type { ServiceDatabase } from '@ferry/platform';
import { CleanupInit1732233600000 } from './migrations/1732233600000-init';
import { CleanupJobs1732234300000 } from './migrations/1732234300000-jobs';
import { CleanupMigrations1765000000000 } from './migrations/1765000000000-migrations';

export const CLEANUP_DATABASE: ServiceDatabase = {
  schema: 'cleanup',
  entities: [],
  migrations: [CleanupInit1732233600000, CleanupJobs1732234300000, CleanupMigrations1765000000000],
};
