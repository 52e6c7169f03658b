import type {
  HostStatus,
  Inventory,
  PlacementCandidateDto,
  PlacementRejectionDto,
  PlacementStrategy,
  ResourceAmounts,
  StandardResource,
} from '@ferry/contracts';
import { STANDARD_RESOURCES } from '@ferry/contracts';

/** What placement knows of a host. */
export interface PlacementHost {
  id: string;
  name: string;
  status: HostStatus;
  statusReason: string | null;
  hasCapabilities: boolean;
  traits: ReadonlySet<string>;
  inventory: Inventory;
}

/** A request after its resource class and policy were merged in. */
export interface EffectiveRequest {
  resources: ResourceAmounts;
  required: string[];
  forbidden: string[];
}

export interface Placement {
  candidates: PlacementCandidateDto[];
  rejected: PlacementRejectionDto[];
}

/** Why a host cannot be used at all, before traits and resources are looked at. */
function unusable(host: PlacementHost): string | undefined {
  if (host.status === 'unreachable') return `HOST_UNREACHABLE: ${host.statusReason ?? 'unknown reason'}`;
  if (host.status === 'error') return `HOST_ERROR: ${host.statusReason ?? 'unknown reason'}`;
  if (!host.hasCapabilities) return 'NO_CAPABILITIES: not discovered yet';
  return undefined;
}

/**
 * Which hosts fit the request, best first under the strategy, and why every other host does not.
 * A host fits when it is usable, has every required trait and no forbidden one, and each requested
 * resource fits its capacity. A resource whose inventory is unknown cannot be promised.
 *
 * The score is the smallest fraction of capacity left over the requested resources: `spread` ranks
 * the most left first, `pack` the least. Ties go by name; with nothing requested every usable host
 * scores the same, so they come by name. (Capacity is what the host has: placement does not track
 * what VMs already use.)
 */
export function place(
  hosts: readonly PlacementHost[],
  req: EffectiveRequest,
  strategy: PlacementStrategy,
  limit: number,
): Placement {
  const requested = STANDARD_RESOURCES.filter((r) => (req.resources[r] ?? 0) > 0);
  const candidates: PlacementCandidateDto[] = [];
  const rejected: PlacementRejectionDto[] = [];
  for (const host of hosts) {
    const blocked = unusable(host);
    if (blocked) {
      rejected.push({ host_id: host.id, host_name: host.name, reasons: [blocked] });
      continue;
    }
    const reasons: string[] = [];
    for (const trait of req.required) if (!host.traits.has(trait)) reasons.push(`TRAIT_MISSING: ${trait}`);
    for (const trait of req.forbidden) if (host.traits.has(trait)) reasons.push(`TRAIT_FORBIDDEN: ${trait}`);
    const remaining: ResourceAmounts = {};
    let score = 1;
    for (const resource of STANDARD_RESOURCES) {
      const amount = req.resources[resource] ?? 0;
      const inv = host.inventory[resource];
      if (!inv) {
        if (amount > 0) reasons.push(`UNKNOWN: ${resource} (not discovered)`);
        continue;
      }
      if (amount > inv.capacity) {
        reasons.push(`INSUFFICIENT: ${resource} (requested ${amount}, capacity ${inv.capacity})`);
        continue;
      }
      if (requested.length > 0 && amount === 0) continue;
      remaining[resource as StandardResource] = inv.capacity - amount;
      score = Math.min(score, inv.capacity > 0 ? (inv.capacity - amount) / inv.capacity : 0);
    }
    if (reasons.length > 0) rejected.push({ host_id: host.id, host_name: host.name, reasons });
    else
      candidates.push({
        host_id: host.id,
        host_name: host.name,
        score: strategy === 'spread' ? score : 1 - score,
        remaining,
      });
  }
  candidates.sort(
    (a, b) => b.score - a.score || (a.host_name < b.host_name ? -1 : a.host_name > b.host_name ? 1 : 0),
  );
  for (const c of candidates) c.score = Math.round(c.score * 10_000) / 10_000;
  return { candidates: candidates.slice(0, limit), rejected };
}
