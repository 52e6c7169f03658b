import type { InspectionConcern, VsphereVmFacts } from '@ferry/contracts';
import type { MigrationRecord } from '../migrations.repository';

/** Concern codes of the migration's own plan. Stable: clients match on them. */
export const PlanConcernCodes = {
  /** Seed 001 seals Windows logic off: reported as unsupported, never half-done. */
  WINDOWS_GUEST: 'WINDOWS_GUEST',
  /** vm-operator boots guests with SeaBIOS only. */
  UEFI_FIRMWARE: 'UEFI_FIRMWARE',
  NO_DISKS: 'NO_DISKS',
  NO_GUEST_OS: 'NO_GUEST_OS',
  NO_HOST: 'NO_HOST',
  /** The source runs on while it is copied: what it writes after the snapshot is not carried over. */
  SOURCE_RUNS_DURING_COPY: 'SOURCE_RUNS_DURING_COPY',
  VIRT_V2V_NOT_APPLICABLE: 'VIRT_V2V_NOT_APPLICABLE',
  FIX_DISABLED: 'FIX_DISABLED',
} as const;

/** vSphere says Windows (guest id `windows…`, or its full name). */
export function isWindows(facts: Pick<VsphereVmFacts, 'guestId' | 'guestFullName'>): boolean {
  return /^win/i.test(facts.guestId ?? '') || /windows/i.test(facts.guestFullName ?? '');
}

/**
 * What stops the migration from vSphere's facts alone, before a byte is copied: vSphere's own
 * blockers (physical RDM, shared or encrypted disks, passthrough), a Windows guest, UEFI firmware,
 * no disk. The plan repeats them; FETCH, FLATTEN and INSPECT are skipped.
 */
export function preFetchBlockers(m: Pick<MigrationRecord, 'facts'>): InspectionConcern[] {
  if (!m.facts) return [];
  const { facts, concerns } = m.facts;
  const out = concerns.filter((c) => c.severity === 'blocker');
  if (isWindows(facts))
    out.push({
      code: PlanConcernCodes.WINDOWS_GUEST,
      severity: 'blocker',
      message: `vSphere says the guest is Windows (${facts.guestFullName ?? facts.guestId}): Ferry does not convert Windows guests (seed 001 keeps Windows logic sealed off); nothing was changed`,
    });
  if (facts.firmware === 'efi')
    out.push({
      code: PlanConcernCodes.UEFI_FIRMWARE,
      severity: 'blocker',
      message: 'the VM boots with EFI firmware; vm-operator runs guests with BIOS (SeaBIOS) only',
    });
  if (facts.disks.length === 0)
    out.push({
      code: PlanConcernCodes.NO_DISKS,
      severity: 'blocker',
      message: 'the VM has no disk to migrate',
    });
  return out;
}
