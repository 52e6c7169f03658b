import type { PlanFacts, SourceDiskRef } from '../plan-input';

export type Filesystem = PlanFacts['filesystems'][number];

const BY_PATH = '/dev/disk/by-path/';
const BY_ID = '/dev/disk/by-id/';
/** by-id links that name what is on the disk (device mapper, MD RAID, an LVM PV), not the disk: they survive the move. */
const STABLE_BY_ID = /^\/dev\/disk\/by-id\/(dm-|md-|lvm-pv-uuid-)/;
const SCSI_CONTROLLERS = new Set(['pvscsi', 'lsilogic', 'lsilogic-sas', 'buslogic']);
/** `/dev/sdb2`, `/dev/hda1`: a disk named by its place on the controller. */
const KERNEL_NAME = /^\/dev\/(sd|hd)([a-z]+)(\d*)$/;

/** A device spec that names the disk by where or what it was under VMware. */
export type HazardKind = 'by-path' | 'by-id' | 'kernel-name';

export function hazardOf(spec: string): HazardKind | null {
  if (spec.startsWith(BY_PATH)) return 'by-path';
  if (spec.startsWith(BY_ID) && !STABLE_BY_ID.test(spec)) return 'by-id';
  if (KERNEL_NAME.test(spec)) return 'kernel-name';
  return null;
}

/** A reference to a filesystem to resolve: an fstab or crypttab line, or a kernel parameter. */
export interface DeviceRef {
  spec: string;
  /** The filesystem type it expects (`ext4`, `swap`, `crypto_LUKS`), null when it does not say. */
  type: string | null;
  /** It names the root filesystem (fstab's `/` line, `root=`). */
  root: boolean;
  /**
   * An fstab or crypttab line: a filesystem it names is named by no other line (the fallback
   * excludes what the others name). A kernel parameter (`resume=`) may name what fstab names too.
   */
  exclusive: boolean;
}

export type Resolution =
  { ok: true; fs: Filesystem; how: string } | { ok: false; why: string; candidates: Filesystem[] };

/**
 * Whether a filesystem is of the type a line expects: `auto` or no type takes any; FAT's other names
 * are FAT. ext3 and ext4 are not one type: a line that mounts an ext4 filesystem as ext3 fails.
 */
function sameType(fstabType: string | null, fsType: string | null): boolean {
  if (!fstabType || fstabType === 'auto' || !fsType) return true;
  const norm = (t: string) => (t === 'msdos' || t === 'fat' ? 'vfat' : t);
  return norm(fstabType) === norm(fsType);
}

function diskIndex(letters: string): number {
  return [...letters].reduce((n, c) => n * 26 + (c.charCodeAt(0) - 96), 0) - 1;
}

/**
 * Resolves device specs to the guest's filesystems as the appliance names them. With certainty: the
 * root (what libguestfs found), a by-path link's SCSI target on the VM's only SCSI controller, a
 * `/dev/sdX` of a VM whose disks all sit on one SCSI controller (the kernel names them in target
 * order) or a `/dev/hdX` of an all-IDE VM. Otherwise the fallback: the only filesystem of the type
 * that nothing else names; else unresolved, with the candidates.
 */
export class DeviceResolver {
  private readonly scsi: SourceDiskRef[];
  private readonly scsiControllers: number;

  constructor(
    private readonly facts: PlanFacts,
    private readonly disks: SourceDiskRef[],
  ) {
    this.scsi = disks.filter((d) => SCSI_CONTROLLERS.has(d.controller));
    this.scsiControllers = new Set(this.scsi.map((d) => d.controllerKey)).size;
  }

  filesystem(device: string): Filesystem | undefined {
    return this.facts.filesystems.find((f) => f.device === device);
  }

  /** What a stable spec (UUID=, LABEL=, PARTUUID=, their /dev/disk/by-* links, a device) names, if any. */
  stable(spec: string): Filesystem | undefined {
    const m =
      /^(UUID|LABEL|PARTUUID)=(.+)$/.exec(spec) ?? /^\/dev\/disk\/by-(uuid|label|partuuid)\/(.+)$/.exec(spec);
    const fss = this.facts.filesystems;
    if (m) {
      const [, tag, value] = m as unknown as [string, string, string];
      switch (tag.toLowerCase()) {
        case 'uuid':
          return fss.find((f) => f.uuid?.toLowerCase() === value.toLowerCase());
        case 'label':
          return fss.find((f) => f.label === value);
        default:
          return fss.find((f) => f.partuuid?.toLowerCase() === value.toLowerCase());
      }
    }
    return hazardOf(spec) ? undefined : this.filesystem(spec);
  }

  /** The certain rules only; `why` says what stood in the way (for the note, when the fallback decides). */
  certain(ref: DeviceRef): Resolution {
    if (ref.root) {
      const fs = this.filesystem(this.facts.root);
      if (fs) return { ok: true, fs, how: `it names the root filesystem libguestfs found (${fs.device})` };
    }
    const m = /-scsi-(\d+):(\d+):(\d+):(\d+)(?:-part(\d+))?$/.exec(ref.spec);
    if (ref.spec.startsWith(BY_PATH) && m) {
      const [target, lun, part] = [Number(m[3]), Number(m[4]), m[5]];
      if (this.scsiControllers !== 1)
        return this.no(
          `the VM has ${this.scsiControllers} SCSI controllers, so the SCSI target does not tell the disk`,
        );
      if (lun !== 0) return this.no(`LUN ${lun} is not a vSphere disk`);
      const disk = this.scsi.find((d) => d.unitNumber === target);
      if (!disk) return this.no(`SCSI target ${target} is no disk of the VM's only SCSI controller`);
      return this.onDisk(ref, disk.device, part, `SCSI target ${target} on the VM's only controller`);
    }
    const k = KERNEL_NAME.exec(ref.spec);
    if (k) {
      const [, kind, letters, part] = k as unknown as [string, string, string, string];
      const index = diskIndex(letters);
      if (kind === 'sd') {
        if (this.scsiControllers !== 1 || this.scsi.length !== this.disks.length)
          return this.no(
            "the VM's disks are not all on one SCSI controller, so the kernel's order is not known",
          );
        const disk = [...this.scsi].sort((a, b) => (a.unitNumber ?? 0) - (b.unitNumber ?? 0))[index];
        if (!disk)
          return this.no(
            `the VM's SCSI controller has ${this.scsi.length} disks, none is ${ref.spec.replace(/\d+$/, '')}`,
          );
        return this.onDisk(
          ref,
          disk.device,
          part || undefined,
          `the kernel names the disks of the only SCSI controller in target order`,
        );
      }
      if (this.disks.some((d) => d.controller !== 'ide'))
        return this.no("the VM's disks are not all IDE, so the kernel's order is not known");
      const disk = this.disks.find((d) => (d.busNumber ?? 0) * 2 + (d.unitNumber ?? 0) === index);
      if (!disk) return this.no(`no IDE disk sits at ${ref.spec.slice(5, 8)}`);
      return this.onDisk(
        ref,
        disk.device,
        part || undefined,
        `IDE bus ${disk.busNumber ?? 0} unit ${disk.unitNumber ?? 0}`,
      );
    }
    return this.no(
      ref.spec.startsWith(BY_ID)
        ? 'a by-id serial or WWN of the VMware disk cannot be matched to a disk'
        : 'it names no SCSI target',
    );
  }

  /**
   * The fallback for specs the certain rules did not resolve, as a group (two lines cannot take the
   * same filesystem): per type, one unresolved spec and one filesystem of that type that nothing
   * else names (`claimed`, by device) resolve to each other; anything else stays unresolved. A
   * non-exclusive reference (`resume=`) takes the only filesystem of its type, named or not.
   */
  fallback(refs: DeviceRef[], claimed: Set<string>): Map<string, Resolution> {
    const out = new Map<string, Resolution>();
    const byType = new Map<string, Set<string>>();
    for (const ref of refs) {
      if (!ref.type || ref.type === 'auto') {
        out.set(ref.spec, { ok: false, why: 'its line gives no filesystem type to go by', candidates: [] });
        continue;
      }
      if (!ref.exclusive) {
        const all = this.facts.filesystems.filter((f) => f.type === ref.type);
        out.set(
          ref.spec,
          all.length === 1
            ? { ok: true, fs: all[0]!, how: `the only ${ref.type} filesystem: ${all[0]!.device}` }
            : { ok: false, why: `the guest has ${all.length} ${ref.type} filesystems`, candidates: all },
        );
        continue;
      }
      byType.set(ref.type, (byType.get(ref.type) ?? new Set()).add(ref.spec));
    }
    for (const [type, specs] of byType) {
      const free = this.facts.filesystems.filter(
        (f) => sameType(type, f.type) && f.type !== null && !claimed.has(f.device),
      );
      for (const spec of specs) {
        if (specs.size === 1 && free.length === 1) {
          out.set(spec, {
            ok: true,
            fs: free[0]!,
            how: `the only ${type} filesystem no other fstab line (nor the root) names: ${free[0]!.device}`,
          });
        } else {
          const why =
            specs.size > 1
              ? `${specs.size} lines name ${type} filesystems this way`
              : `${free.length} ${type} filesystems are named by no other line`;
          out.set(spec, { ok: false, why, candidates: free });
        }
      }
    }
    return out;
  }

  private onDisk(ref: DeviceRef, disk: string, part: string | undefined, how: string): Resolution {
    const device = part ? `${disk}${part}` : disk;
    const fs = this.filesystem(device);
    if (!fs) return this.no(`${how} is ${device}, which holds no filesystem libguestfs knows`);
    if (!sameType(ref.type, fs.type))
      return this.no(`${how} is ${device}, which holds ${fs.type ?? 'an unknown type'}, not ${ref.type}`);
    return { ok: true, fs, how: `resolved by ${how}: ${device}` };
  }

  private no(why: string): Resolution {
    return { ok: false, why, candidates: [] };
  }
}

/** What a resolved filesystem is called instead: UUID= when it has one, else PARTUUID=. */
export function stableSpec(fs: Filesystem): string | null {
  if (fs.uuid) return `UUID=${fs.uuid}`;
  if (fs.partuuid) return `PARTUUID=${fs.partuuid}`;
  return null;
}

/** What resolveRefs found: each spec's resolution, and why the certain rules did not decide where the fallback did. */
export interface Resolved {
  resolved: Map<string, Resolution>;
  certainFailed: Map<string, string>;
}

/**
 * Resolves references together: the certain rules first (what they resolve for an exclusive
 * reference is claimed), then the fallback for the rest, exclusive ones first. `claimed` starts with
 * the root and what `stableSpecs` (the other lines' UUID=, LABEL=, …) and libguestfs's mountpoints
 * of the paths not in `hazardPaths` name.
 */
export function resolveRefs(
  resolver: DeviceResolver,
  facts: PlanFacts,
  refs: DeviceRef[],
  stableSpecs: string[],
  hazardPaths: Set<string>,
): Resolved {
  const claimed = new Set<string>([facts.root]);
  for (const spec of stableSpecs) {
    const fs = resolver.stable(spec);
    if (fs) claimed.add(fs.device);
  }
  for (const m of facts.mountpoints) if (!hazardPaths.has(m.path)) claimed.add(m.device);

  const resolved = new Map<string, Resolution>();
  const certainFailed = new Map<string, string>();
  for (const ref of refs) {
    if (resolved.has(ref.spec)) continue;
    const r = resolver.certain(ref);
    if (r.ok) {
      resolved.set(ref.spec, r);
      certainFailed.delete(ref.spec);
      if (ref.exclusive) claimed.add(r.fs.device);
    } else certainFailed.set(ref.spec, r.why);
  }
  const pending = (exclusive: boolean) => {
    const left = new Map<string, DeviceRef>();
    for (const ref of refs)
      if (ref.exclusive === exclusive && !resolved.has(ref.spec)) left.set(ref.spec, ref);
    return [...left.values()];
  };
  for (const [spec, r] of resolver.fallback(pending(true), claimed)) resolved.set(spec, r);
  for (const [spec, r] of resolver.fallback(pending(false), claimed))
    if (!resolved.has(spec)) resolved.set(spec, r);
  return { resolved, certainFailed };
}
