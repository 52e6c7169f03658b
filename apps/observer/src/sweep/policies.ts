import type { IssueKind, RepairPolicy } from '@ferry/contracts';
import { ISSUE_KINDS, POLICIES_BY_KIND } from '@ferry/contracts';

export type Policies = Record<IssueKind, RepairPolicy>;

/** `vm_process_missing=repair,orphan_disk=quarantine` → a policy for every kind (unlisted: `log`). */
export function parsePolicies(text: string): Policies {
  const policies = Object.fromEntries(ISSUE_KINDS.map((k) => [k, 'log'])) as Policies;
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [kind, policy, ...rest] = part.split('=').map((s) => s.trim());
    if (!kind || !policy || rest.length > 0) throw new Error(`"${part}" is not kind=policy`);
    if (!(ISSUE_KINDS as readonly string[]).includes(kind))
      throw new Error(`unknown issue kind "${kind}" (one of ${ISSUE_KINDS.join(', ')})`);
    const allowed = POLICIES_BY_KIND[kind as IssueKind];
    if (!(allowed as readonly string[]).includes(policy))
      throw new Error(`${kind} takes ${allowed.join(' or ')}, not "${policy}"`);
    policies[kind as IssueKind] = policy as RepairPolicy;
  }
  return policies;
}
