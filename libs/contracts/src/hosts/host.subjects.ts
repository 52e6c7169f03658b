// Published subjects: never edit one in place.
export const HostSubjects = {
  REGISTER: 'host-capability.host.register',
  LIST: 'host-capability.host.list',
  GET: 'host-capability.host.get',
  DELETE: 'host-capability.host.delete',
  CAPABILITIES_GET: 'host-capability.capabilities.get',
  /** The same capabilities in seed 003's HostCapabilityData shape (plain values, the seed's keys). */
  CAPABILITIES_GET_SEED_VIEW: 'host-capability.capabilities.get-seed-view',
  CAPABILITIES_HISTORY: 'host-capability.capabilities.history',
  CAPABILITIES_REFRESH: 'host-capability.capabilities.refresh',
  TRAIT_LIST: 'host-capability.trait.list',
  TRAIT_GET: 'host-capability.trait.get',
  CATALOG_PUT: 'host-capability.catalog.put',
  CATALOG_LIST: 'host-capability.catalog.list',
  CATALOG_GET: 'host-capability.catalog.get',
  CATALOG_DELETE: 'host-capability.catalog.delete',
  PLACEMENT_CANDIDATES: 'host-capability.placement.candidates',
} as const;
