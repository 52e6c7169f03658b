import type { HostDto } from '@ferry/contracts';
import type { HostRecord } from './hosts.repository';

/** Custom trait name → the ids of the hosts that carry it. */
export type CustomTraits = ReadonlyMap<string, readonly string[]>;

/** The custom traits given to a host. */
export function customTraitsOf(hostId: string, custom: CustomTraits): string[] {
  return [...custom].filter(([, ids]) => ids.includes(hostId)).map(([name]) => name);
}

export function toHostDto(host: HostRecord, custom: CustomTraits, staleMs: number): HostDto {
  const claimedAt = host.refreshClaimedAt?.getTime();
  return {
    id: host.id,
    name: host.name,
    uri: host.uri,
    driver: host.driver,
    status: host.status,
    status_reason: host.statusReason,
    local: host.isLocal,
    capability_version: host.latestVersion,
    traits: [...new Set([...host.traits, ...customTraitsOf(host.id, custom)])].sort(),
    inventory: host.inventory,
    last_discovered_at: host.lastDiscoveredAt?.toISOString() ?? null,
    refreshing: claimedAt !== undefined && Date.now() - claimedAt < staleMs,
    created_at: host.createdAt.toISOString(),
  };
}
