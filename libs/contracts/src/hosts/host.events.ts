import type { CatalogKind } from './catalog.dto';
import type { CapabilityChangeDto, HostDto, HostStatus } from './host.dto';

// Published event types: never edit one in place.
export const HostEvents = {
  REGISTERED: 'ferry.host-capability.host.registered',
  STATUS_CHANGED: 'ferry.host-capability.host.status-changed',
  DELETED: 'ferry.host-capability.host.deleted',
  CAPABILITIES_CHANGED: 'ferry.host-capability.capabilities.changed',
  CATALOG_CHANGED: 'ferry.host-capability.catalog.changed',
} as const;

export interface HostEventData {
  [HostEvents.REGISTERED]: { host: HostDto };
  [HostEvents.STATUS_CHANGED]: {
    host_id: string;
    name: string;
    from: HostStatus;
    to: HostStatus;
    reason: string | null;
  };
  [HostEvents.DELETED]: { host_id: string; name: string };
  /** A discovery found different facts: a new version. */
  [HostEvents.CAPABILITIES_CHANGED]: {
    host_id: string;
    name: string;
    version: number;
    previous_version: number | null;
    traits_added: string[];
    traits_removed: string[];
    changes: CapabilityChangeDto[];
  };
  [HostEvents.CATALOG_CHANGED]: {
    kind: CatalogKind;
    name: string;
    action: 'created' | 'replaced' | 'deleted';
  };
}
