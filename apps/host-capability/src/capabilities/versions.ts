import { createHash } from 'node:crypto';
import type { CapabilityChangeDto, HostCapabilityData, Inventory } from '@ferry/contracts';
import { CAPABILITY_CATEGORIES, STANDARD_RESOURCES } from '@ferry/contracts';

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** What a version is identified by: its facts and the inventory derived from them. */
export function fingerprint(data: HostCapabilityData, inventory: Inventory): string {
  return createHash('sha256').update(canonicalJson({ data, inventory })).digest('hex');
}

/** Every leaf with its path: `memory.total_mb` → the Fact, `inventory.VCPU` → the record. */
function leaves(data: HostCapabilityData, inventory: Inventory): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const category of CAPABILITY_CATEGORIES) {
    for (const [field, fact] of Object.entries(data[category] ?? {})) out.set(`${category}.${field}`, fact);
  }
  for (const resource of STANDARD_RESOURCES) {
    if (inventory[resource]) out.set(`inventory.${resource}`, inventory[resource]);
  }
  return out;
}

/** The fields that differ between two versions, in path order. */
export function diffVersions(
  before: { data: HostCapabilityData; inventory: Inventory } | null,
  after: { data: HostCapabilityData; inventory: Inventory },
): CapabilityChangeDto[] {
  if (!before) return [];
  const a = leaves(before.data, before.inventory);
  const b = leaves(after.data, after.inventory);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((path) => canonicalJson(a.get(path) ?? null) !== canonicalJson(b.get(path) ?? null))
    .map((path) => ({ path, from: a.get(path) ?? null, to: b.get(path) ?? null }));
}

/** Traits in `after` and not in `before`, and the other way round; both sorted. */
export function traitDelta(
  before: readonly string[],
  after: readonly string[],
): { added: string[]; removed: string[] } {
  const was = new Set(before);
  const now = new Set(after);
  return {
    added: after.filter((t) => !was.has(t)).sort(),
    removed: before.filter((t) => !now.has(t)).sort(),
  };
}
