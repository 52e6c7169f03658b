import type { ServiceDatabase } from '@ferry/platform';
import { InspectorInit1732233600000 } from './migrations/1732233600000-init';

export const INSPECTOR_DATABASE: ServiceDatabase = {
  schema: 'inspector',
  entities: [],
  migrations: [InspectorInit1732233600000],
};
