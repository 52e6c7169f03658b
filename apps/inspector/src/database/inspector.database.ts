import type { ServiceDatabase } from '@ferry/platform';
import { InspectorInit1732233600000 } from './migrations/1732233600000-init';
import { InspectorQueue1732234500000 } from './migrations/1732234500000-queue';
import { InspectorQueueRun1732234600000 } from './migrations/1732234600000-queue-run';
import { InspectorExports1732234700000 } from './migrations/1732234700000-exports';
import { InspectorGuestInspections1765000000000 } from './migrations/1765000000000-guest-inspections';
import { InspectorQueueOrder1766200000000 } from './migrations/1766200000000-queue-order';

export const INSPECTOR_DATABASE: ServiceDatabase = {
  schema: 'inspector',
  entities: [],
  migrations: [
    InspectorInit1732233600000,
    InspectorQueue1732234500000,
    InspectorQueueRun1732234600000,
    InspectorExports1732234700000,
    InspectorGuestInspections1765000000000,
    InspectorQueueOrder1766200000000,
  ],
};
