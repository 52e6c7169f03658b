import type { Fact, HostCapabilityData } from '@ferry/contracts';
import { known, unknown } from '@ferry/contracts';

/** Some of the facts of some categories: what one libvirt answer tells. */
export type PartialCapabilityData = {
  [C in keyof HostCapabilityData]?: Partial<HostCapabilityData[C]>;
};

/** Puts the facts of `parts` over `base` (later parts win), category by category. */
export function mergeInto(base: HostCapabilityData, ...parts: PartialCapabilityData[]): HostCapabilityData {
  const out = structuredClone(base);
  for (const part of parts) {
    for (const category of Object.keys(part) as (keyof HostCapabilityData)[]) {
      Object.assign(out[category], part[category]);
    }
  }
  return out;
}

/** `known(value)` when value is defined, else `unknown(reason)`. */
export function factOr<T>(value: T | undefined | null, source: string, reason: string): Fact<T> {
  return value === undefined || value === null ? unknown<T>(source, reason) : known(value, source);
}

/** The given fields, all unknown for the same reason (e.g. their probe failed). */
export function allUnknown<K extends string>(
  fields: readonly K[],
  source: string,
  reason: string,
): Record<K, Fact<never>> {
  const out = {} as Record<K, Fact<never>>;
  for (const f of fields) out[f] = unknown<never>(source, reason);
  return out;
}
