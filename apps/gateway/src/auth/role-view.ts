import type { Role } from './roles';

/**
 * What a role sees of a resource, in REST and in the event stream alike: image paths (a disk's
 * `path`, a device's `path`, at any depth) are the host's business, shown to admins only.
 */
export function viewFor<T>(role: Role | undefined, value: T): T {
  return role === 'admin' ? value : (withoutPaths(value) as T);
}

function withoutPaths(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPaths);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([k]) => k !== 'path')
      .map(([k, v]) => [k, withoutPaths(v)]),
  );
}
