import type { GuestFixDto, GuestFixName, GuestFixPlanDto, InspectionConcern } from '@ferry/contracts';
import { GUEST_FIX_NAMES, GuestFixConcernCodes } from '@ferry/contracts';
import { planByPathFix } from './by-path/by-path-fix';
import { planNetworkFix } from './network/network-fix';
import type { FixerResult, GuestFixInput } from './plan-input';
import { GuestFileSet } from './plan-input';
import { planVmwareToolsFix } from './vmware-tools-fix';

const FIXERS: Record<
  GuestFixName,
  { title: string; plan: (i: GuestFixInput, f: GuestFileSet) => FixerResult }
> = {
  'by-path': {
    title: 'Name filesystems by UUID instead of /dev/disk/by-path, VMware by-id and /dev/sdX names',
    plan: planByPathFix,
  },
  'vmware-tools': { title: 'Remove or disable VMware tools', plan: planVmwareToolsFix },
  network: { title: "Keep the guest's interface names on the new NICs, with DHCP", plan: planNetworkFix },
};

/**
 * Plans Ferry's guest fixes from what the inspection read: pure (the same input gives the same plan)
 * and without side effects, so the plan can be shown before anything is written. A plan made from
 * files a fix has already changed has no edits (each fix is idempotent).
 *
 * Only Linux guests are fixed: any other (Windows above all, which seed 001 seals off) gets no fix
 * and a blocker, never half of one.
 */
export function planGuestFixes(input: GuestFixInput): GuestFixPlanDto {
  const enabled = GUEST_FIX_NAMES.filter((n) => input.options.fixes.includes(n));
  const osType = input.facts.osType;
  if (osType !== 'linux') {
    const blocker: InspectionConcern = {
      code: GuestFixConcernCodes.UNSUPPORTED_GUEST_OS,
      severity: 'blocker',
      message:
        osType === 'windows'
          ? 'Windows guests are not supported: Ferry plans no fix for them (seed 001 keeps Windows logic sealed off), and does not migrate half of one'
          : `${osType ?? 'an unknown'} guest is not supported: Ferry's guest fixes are for Linux only`,
      subject: input.facts.root,
    };
    return { fixes: [], blockers: [blocker], warnings: [] };
  }
  const files = new GuestFileSet(input.files);
  const fixes: GuestFixDto[] = [];
  const blockers: InspectionConcern[] = [];
  const warnings: InspectionConcern[] = [];
  const edited = new Map<string, GuestFixName>();
  for (const name of enabled) {
    const { title, plan } = FIXERS[name];
    const result = plan(input, files);
    // Two fixes never edit one path: the second would compare against what the first leaves.
    for (const e of result.edits) {
      const other = edited.get(e.path);
      if (other) throw new Error(`fixes ${other} and ${name} both edit ${e.path}`);
      edited.set(e.path, name);
    }
    fixes.push({ name, title, edits: result.edits, notes: result.notes });
    blockers.push(...result.blockers);
    warnings.push(...result.warnings);
  }
  return { fixes, blockers, warnings };
}
