import type { ServiceDatabase } from '@ferry/platform';
import { CleanupInit1732233600000 } from './migrations/1732233600000-init';
import { CleanupJobs1732234300000 } from './migrations/1732234300000-jobs';

export const CLEANUP_DATABASE: ServiceDatabase = {
  schema: 'cleanup',
  entities: [],
  migrations: [CleanupInit1732233600000, CleanupJobs1732234300000],
};
