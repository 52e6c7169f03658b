import { createHash } from 'node:crypto';
import type { GuestFileDto, GuestFixName, GuestFixPlanDto } from '@ferry/contracts';
import { GUEST_FIX_NAMES } from '@ferry/contracts';
import { applyGuestFixes } from '../apply/apply-guest-fixes';
import { readGuestFiles } from '../files/read-guest-files';
import { planGuestFixes } from '../plan/plan-guest-fixes';
import type { GuestFixInput, PlanFacts, SourceDiskRef } from '../plan/plan-input';
import type { MemoryGuestfish } from './memory-guestfish';

/** A file as readGuestFiles records it. */
export function file(path: string, content: string): GuestFileDto {
  return { path, content, sha256: createHash('sha256').update(content).digest('hex'), kind: 'file' };
}

export const ROOT_UUID = '0b9e3f5c-6a1d-4c27-9e8f-3d2a1b0c9f8e';
export const SWAP_UUID = 'a4c3b2d1-0e9f-48a7-b6c5-d4e3f2a1b0c9';
export const LUKS_UUID = 'f0e1d2c3-b4a5-4697-8877-665544332211';
export const SRV_UUID = '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9';
export const DATA_UUID = '11223344-5566-4778-899a-abbccddeeff0';

/**
 * A Debian 12 guest as vSphere leaves it: two disks on one PVSCSI controller (units 0 and 1): sda1
 * root (ext4), sda2 swap, sda5 LUKS, sdb1 xfs (/srv), sdb2 ext4 (/var/lib/data, by UUID).
 */
export function debianFacts(over: Partial<PlanFacts> = {}): PlanFacts {
  return {
    root: '/dev/sda1',
    osType: 'linux',
    distro: 'debian',
    packageFormat: 'deb',
    vmwareTools: null,
    filesystems: [
      { device: '/dev/sda1', type: 'ext4', uuid: ROOT_UUID, label: null, partuuid: '1a2b3c4d-01' },
      { device: '/dev/sda2', type: 'swap', uuid: SWAP_UUID, label: null, partuuid: '1a2b3c4d-02' },
      { device: '/dev/sda5', type: 'crypto_LUKS', uuid: LUKS_UUID, label: null, partuuid: '1a2b3c4d-05' },
      { device: '/dev/sdb1', type: 'xfs', uuid: SRV_UUID, label: 'srv', partuuid: '9f8e7d6c-01' },
      { device: '/dev/sdb2', type: 'ext4', uuid: DATA_UUID, label: null, partuuid: '9f8e7d6c-02' },
    ],
    mountpoints: [],
    fstab: [],
    ...over,
  };
}

export const ONE_PVSCSI: SourceDiskRef[] = [
  { device: '/dev/sda', controller: 'pvscsi', controllerKey: 1000, busNumber: 0, unitNumber: 0 },
  { device: '/dev/sdb', controller: 'pvscsi', controllerKey: 1000, busNumber: 0, unitNumber: 1 },
];

export function input(over: Partial<GuestFixInput> & { fixes?: GuestFixName[] } = {}): GuestFixInput {
  const { fixes, ...rest } = over;
  return {
    facts: debianFacts(),
    files: [],
    disks: ONE_PVSCSI,
    nics: [],
    options: { fixes: fixes ?? [...GUEST_FIX_NAMES], keepStaticIp: false, virtV2v: false },
    ...rest,
  };
}

/** Every edit's diff and notes of one fix, joined (what a person reads). */
export function fixOf(plan: GuestFixPlanDto, name: GuestFixName) {
  const fix = plan.fixes.find((f) => f.name === name);
  if (!fix) throw new Error(`no ${name} fix in the plan`);
  return fix;
}

/**
 * The whole cycle on an in-memory guest: read, plan, apply, read back, plan again. Returns the first
 * plan, the outcomes, the second plan and the guest, so a spec can check each and that the second
 * plan has no edit (every fix idempotent).
 */
export async function cycle(guest: MemoryGuestfish, base: Omit<GuestFixInput, 'files'>) {
  const files = await readGuestFiles(guest);
  const plan = planGuestFixes({ ...base, files });
  const outcomes = await applyGuestFixes(guest, plan.fixes);
  const again = planGuestFixes({ ...base, files: await readGuestFiles(guest) });
  const reapplied = await applyGuestFixes(guest, plan.fixes);
  return { files, plan, outcomes, again, reapplied };
}
