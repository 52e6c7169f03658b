import type { ServiceDatabase } from '@ferry/platform';
import { HostCapabilityInit1732233600000 } from './migrations/1732233600000-init';
import { HostCapabilityHosts1732234100000 } from './migrations/1732234100000-hosts';

export const HOST_CAPABILITY_DATABASE: ServiceDatabase = {
  schema: 'host_capability',
  entities: [],
  migrations: [HostCapabilityInit1732233600000, HostCapabilityHosts1732234100000],
};
