import { SetMetadata } from '@nestjs/common';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required];
}

export const REQUIRED_ROLE = 'ferry:required-role';
export const PUBLIC_ROUTE = 'ferry:public';

/** Overrides the default (reads need viewer, changes need operator). */
export const RequireRole = (role: Role) => SetMetadata(REQUIRED_ROLE, role);
/** No API key needed: health probes. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Who made the request, attached to it by the ApiKeyGuard. */
export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}
