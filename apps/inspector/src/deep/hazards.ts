import type { ConcernSeverity, InspectionConcern } from '@ferry/contracts';
import type { FstabEntry } from './guestfish-output';
import { isOptionalMount } from './guestfish-output';
import type { ByPathReference, GuestInspection } from './guest-inspection';

/** Concern codes of the local source. Stable: clients match on them. */
export const LocalConcernCodes = {
  /** fstab names a device by its `/dev/disk/by-path` link (seed 001: "radioactive"). */
  FSTAB_BY_PATH: 'FSTAB_BY_PATH',
  /** fstab names a disk by a serial or WWN link under `/dev/disk/by-id`, which the new disks do not share. */
  FSTAB_BY_ID: 'FSTAB_BY_ID',
  /** The kernel command line, GRUB, crypttab or the resume device use a by-path link. */
  BOOT_CONFIG_BY_PATH: 'BOOT_CONFIG_BY_PATH',
  VMWARE_TOOLS: 'VMWARE_TOOLS',
  NO_GUEST_OS: 'NO_GUEST_OS',
  MULTIPLE_GUEST_OS: 'MULTIPLE_GUEST_OS',
  PARTITION_TABLE_UNREADABLE: 'PARTITION_TABLE_UNREADABLE',
  DEEP_INSPECTION_FAILED: 'DEEP_INSPECTION_FAILED',
} as const;

const BY_PATH = '/dev/disk/by-path/';
const BY_ID = '/dev/disk/by-id/';
/** by-id links that name what is on the disk (LVM, MD RAID), not the disk, and so survive the move. */
const STABLE_BY_ID = /^\/dev\/disk\/by-id\/(dm-|md-|lvm-pv-uuid-)/;

/**
 * A mount the boot needs whose device will not be found is a blocker: systemd drops to emergency
 * mode (the root: the initramfs never finds it). With `nofail`/`noauto`, or swap, the boot goes on
 * without it: a warning.
 */
function severityOf(entry: FstabEntry): ConcernSeverity {
  return isOptionalMount(entry) ? 'warning' : 'blocker';
}

/** What a guest's own files say stands in the way of booting it on KVM. */
export function guestConcerns({ facts, bootConfigByPath }: GuestInspection): InspectionConcern[] {
  const concerns: InspectionConcern[] = [];
  // fstab as written; when it could not be read, libguestfs's mountpoints (which come from it, and
  // keep by-path specs as written).
  const entries: FstabEntry[] = facts.fstab.length
    ? facts.fstab
    : facts.mountpoints.map((m) => ({ spec: m.device, path: m.path, type: null, options: null }));
  for (const entry of entries) {
    const subject = `${entry.spec} ${entry.path}`;
    if (entry.spec.startsWith(BY_PATH)) {
      concerns.push({
        code: LocalConcernCodes.FSTAB_BY_PATH,
        severity: severityOf(entry),
        message:
          `/etc/fstab mounts ${entry.path} by ${entry.spec}: by-path links name the controller slot the ` +
          'disk sat in under VMware, which differs on KVM; mount by UUID=, PARTUUID= or LABEL= before moving',
        subject,
      });
    } else if (entry.spec.startsWith(BY_ID) && !STABLE_BY_ID.test(entry.spec)) {
      concerns.push({
        code: LocalConcernCodes.FSTAB_BY_ID,
        severity: severityOf(entry),
        message:
          `/etc/fstab mounts ${entry.path} by ${entry.spec}: the disk's serial or WWN changes with the ` +
          'move; mount by UUID=, PARTUUID= or LABEL= instead',
        subject,
      });
    }
  }
  for (const ref of bootConfigByPath) concerns.push(bootConfigConcern(ref));
  if (facts.vmwareTools) {
    concerns.push({
      code: LocalConcernCodes.VMWARE_TOOLS,
      severity: 'warning',
      message: `VMware tools are installed (${facts.vmwareTools}); remove them and install the QEMU guest agent`,
      subject: facts.root,
    });
  }
  return concerns;
}

function bootConfigConcern(ref: ByPathReference): InspectionConcern {
  // A missing resume device only costs hibernation; the others stop the boot.
  const resume = ref.file.endsWith('/resume');
  return {
    code: LocalConcernCodes.BOOT_CONFIG_BY_PATH,
    severity: resume ? 'warning' : 'blocker',
    message: `${ref.file} names a device by its /dev/disk/by-path link, which differs on KVM`,
    subject: `${ref.file}: ${ref.line}`,
  };
}

/** The VM-wide concerns of what deep inspection found (or could not). */
export function inspectionConcerns(guests: GuestInspection[]): InspectionConcern[] {
  if (guests.length === 0) {
    return [
      {
        code: LocalConcernCodes.NO_GUEST_OS,
        severity: 'info',
        message: 'no operating system was found on the disks of the VM (blank or data-only disks)',
      },
    ];
  }
  const concerns = guests.flatMap(guestConcerns);
  if (guests.length > 1) {
    concerns.push({
      code: LocalConcernCodes.MULTIPLE_GUEST_OS,
      severity: 'info',
      message: `${guests.length} operating systems were found; the results describe the first (${guests[0]?.facts.root})`,
    });
  }
  return concerns;
}

export function partitionTableConcern(deviceId: string, problem: string): InspectionConcern {
  return {
    code: LocalConcernCodes.PARTITION_TABLE_UNREADABLE,
    severity: 'warning',
    message: `the partition table of disk ${deviceId} could not be read: ${problem}`,
    subject: deviceId,
  };
}

export function deepInspectionFailed(message: string): InspectionConcern {
  return {
    code: LocalConcernCodes.DEEP_INSPECTION_FAILED,
    severity: 'warning',
    message: `the guest could not be inspected: ${message}`,
  };
}

/** One disk could not be read at all: the deep inspection went on without it. */
export function diskUnreadable(deviceId: string, message: string): InspectionConcern {
  return {
    code: LocalConcernCodes.DEEP_INSPECTION_FAILED,
    severity: 'warning',
    message: `disk ${deviceId} could not be read, so the guest was inspected without it: ${message}`,
    subject: deviceId,
  };
}

const RANK: Record<ConcernSeverity, number> = { blocker: 0, warning: 1, info: 2 };

/** Worst first, in the order found within a severity. */
export function sortConcerns(concerns: InspectionConcern[]): InspectionConcern[] {
  return [...concerns].sort((a, b) => RANK[a.severity] - RANK[b.severity]);
}
