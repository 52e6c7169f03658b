import type { ServiceDatabase } from '@ferry/platform';
import { ObserverInit1732233600000 } from './migrations/1732233600000-init';
import { ObserverIssues1732234400000 } from './migrations/1732234400000-issues';
import { ObserverSweepPhases1766000000000 } from './migrations/1766000000000-sweep-phases';

export const OBSERVER_DATABASE: ServiceDatabase = {
  schema: 'observer',
  entities: [],
  migrations: [ObserverInit1732233600000, ObserverIssues1732234400000, ObserverSweepPhases1766000000000],
};
