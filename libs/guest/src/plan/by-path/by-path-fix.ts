import type { InspectionConcern } from '@ferry/contracts';
import { GuestFixConcernCodes } from '@ferry/contracts';
import {
  BLS_ENTRIES,
  BOOT_CONFIG_FILES,
  CRYPTTAB,
  FSTAB,
  INITRAMFS_RESUME,
} from '../../files/guest-fix-files';
import type { FixerResult, GuestFileSet, GuestFixInput } from '../plan-input';
import { emptyResult, linesOf, splitEol, writeEdit } from '../plan-input';
import type { DeviceRef, Filesystem, HazardKind } from './device-resolver';
import { DeviceResolver, hazardOf, resolveRefs, stableSpec } from './device-resolver';

/** One place a device is named: a field of a table line, or a kernel parameter's value. */
interface Site {
  file: string;
  /** 0-based line index in the file. */
  line: number;
  /** Offset and length of the spec within the line. */
  at: number;
  length: number;
  ref: DeviceRef;
  hazard: HazardKind;
  /** What the line is about, for notes (`/data`, `root=`, `crypttab cryptdata`). */
  what: string;
}

const COMMENT = /^\s*#/;

/** fstab (field 1) and crypttab (field 2) lines: the spec's place in the line, whitespace kept. */
function tableSites(files: GuestFileSet, file: string, field: 0 | 1): { sites: Site[]; stable: string[] } {
  const text = files.text(file);
  const sites: Site[] = [];
  const stable: string[] = [];
  if (text === null) return { sites, stable };
  linesOf(text).forEach((raw, line) => {
    const [body] = splitEol(raw);
    if (COMMENT.test(body) || body.trim() === '') return;
    const fields = [...body.matchAll(/\S+/g)];
    const spec = fields[field];
    if (!spec || fields.length < 2) return;
    const hazard = hazardOf(spec[0]);
    if (!hazard) {
      stable.push(spec[0]);
      return;
    }
    const fstab = field === 0;
    const type = fstab ? (fields[2]?.[0] ?? null) : 'crypto_LUKS';
    const path = fstab ? fields[1]![0] : fields[0]![0];
    sites.push({
      file,
      line,
      at: spec.index,
      length: spec[0].length,
      ref: { spec: spec[0], type, root: fstab && path === '/', exclusive: true },
      hazard,
      what: fstab ? (path === 'none' ? `swap` : path) : `crypttab ${path}`,
    });
  });
  return { sites, stable };
}

const PARAM = /(^|[\s"'])([A-Za-z_][\w.-]*)=(\/dev\/[^\s"']+)/g;

/** Kernel parameters (`root=`, `resume=`, `RESUME=`) whose value names a disk by a hazard. */
function cmdlineSites(files: GuestFileSet, file: string): Site[] {
  const text = files.text(file);
  if (text === null) return [];
  const sites: Site[] = [];
  linesOf(text).forEach((raw, line) => {
    const [body] = splitEol(raw);
    if (COMMENT.test(body)) return;
    for (const m of body.matchAll(PARAM)) {
      const [, lead, key, value] = m as unknown as [string, string, string, string];
      const hazard = hazardOf(value);
      const name = key.toLowerCase();
      // /dev/sdX in another parameter may mean anything: only root= and resume= are about filesystems.
      if (!hazard || (hazard === 'kernel-name' && name !== 'root' && name !== 'resume')) continue;
      sites.push({
        file,
        line,
        at: m.index + lead.length + key.length + 1,
        length: value.length,
        ref: {
          spec: value,
          type: name === 'resume' ? 'swap' : null,
          root: name === 'root',
          exclusive: false,
        },
        hazard,
        what: `${key}=`,
      });
    }
  });
  return sites;
}

function describe(fs: Filesystem): string {
  return `${fs.device} (${fs.type ?? 'unknown'}${fs.uuid ? `, UUID=${fs.uuid}` : ''}${fs.label ? `, LABEL=${fs.label}` : ''})`;
}

/**
 * seed 001's invariant, `/dev/disk/by-path` is radioactive: every by-path link, every by-id link of
 * the VMware disk (serials, WWNs), and every `/dev/sdX`/`/dev/hdX` the planner can resolve, in fstab,
 * crypttab and the boot configuration, becomes UUID= (PARTUUID= without a UUID) of the filesystem it
 * named. A link that cannot be resolved is a blocker; a /dev/sdX that cannot be, a warning.
 */
export function planByPathFix(input: GuestFixInput, files: GuestFileSet): FixerResult {
  const result = emptyResult();
  const resolver = new DeviceResolver(input.facts, input.disks);
  const fstab = tableSites(files, FSTAB, 0);
  const crypttab = tableSites(files, CRYPTTAB, 1);
  const cmdlineFiles = [
    ...BOOT_CONFIG_FILES,
    ...files.matching(BLS_ENTRIES).map((f) => f.path),
    INITRAMFS_RESUME,
  ];
  const sites = [...fstab.sites, ...crypttab.sites, ...cmdlineFiles.flatMap((f) => cmdlineSites(files, f))];
  for (const file of [FSTAB, CRYPTTAB, ...cmdlineFiles]) {
    const why = files.unreadable(file);
    if (why) result.notes.push(`${why}: by-path links in it are not looked for`);
  }

  const hazardPaths = new Set(fstab.sites.map((s) => s.what));
  const { resolved, certainFailed } = resolveRefs(
    resolver,
    input.facts,
    sites.map((s) => s.ref),
    [...fstab.stable, ...crypttab.stable],
    hazardPaths,
  );

  // Rewrite each file, last site of a line first so that offsets hold.
  const edited = new Map<string, string[]>();
  const siteNotes: { site: Site; text: string }[] = [];
  for (const site of [...sites].sort((a, b) => b.line - a.line || b.at - a.at)) {
    const r = resolved.get(site.ref.spec);
    const unresolved = (why: string, candidates: Filesystem[]) => {
      const line = splitEol(linesOf(files.text(site.file) ?? '')[site.line] ?? '')[0].trim();
      if (site.hazard === 'kernel-name') {
        siteNotes.push({ site, text: `${site.ref.spec} left as written: ${why}` });
        result.warnings.push(
          concern('warning', site, line, `${site.ref.spec} may name another disk on KVM (${why})`),
        );
        return;
      }
      const named = candidates.length ? `; candidates: ${candidates.map(describe).join(', ')}` : '';
      result.blockers.push(
        concern(
          'blocker',
          site,
          line,
          `${site.ref.spec} cannot be resolved to a filesystem with certainty (${why})${named}: ` +
            'edit it by hand to UUID=… (or remove the line) before migrating',
        ),
      );
    };
    if (!r || !r.ok) {
      unresolved(
        r?.why ?? certainFailed.get(site.ref.spec) ?? 'no rule applies',
        r && !r.ok ? r.candidates : [],
      );
      continue;
    }
    const spec = stableSpec(r.fs);
    if (!spec) {
      unresolved(`${r.fs.device} has neither a UUID nor a PARTUUID`, []);
      continue;
    }
    const first = certainFailed.get(site.ref.spec);
    siteNotes.push({ site, text: `${site.ref.spec} → ${spec}: ${r.how}${first ? ` (${first})` : ''}` });
    const lines = edited.get(site.file) ?? linesOf(files.text(site.file) ?? '');
    const line = lines[site.line]!;
    lines[site.line] = line.slice(0, site.at) + spec + line.slice(site.at + site.length);
    edited.set(site.file, lines);
  }
  siteNotes.sort(
    (a, b) => byFile(a.site.file, b.site.file) || a.site.line - b.site.line || a.site.at - b.site.at,
  );
  result.notes.push(...siteNotes.map(({ site, text }) => `${site.file} (${site.what}): ${text}`));
  for (const [file, lines] of [...edited].sort(([a], [b]) => byFile(a, b))) {
    result.edits.push(...writeEdit(files, file, lines.join('')));
  }
  if (edited.has('/boot/grub/grub.cfg') || edited.has('/boot/grub2/grub.cfg'))
    result.notes.push(
      'grub.cfg is generated: it is edited for the next boot, /etc/default/grub for the ones after update-grub',
    );
  if (sites.length === 0)
    result.notes.push(
      'no /dev/disk/by-path, VMware by-id or /dev/sdX name in fstab, crypttab or the boot configuration',
    );
  return result;
}

/** fstab first, then crypttab, then the boot configuration, as a person would read them. */
function byFile(a: string, b: string): number {
  const rank = (f: string) => (f === FSTAB ? 0 : f === CRYPTTAB ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

function concern(severity: 'blocker' | 'warning', site: Site, line: string, what: string): InspectionConcern {
  return {
    code: GuestFixConcernCodes.DEVICE_UNRESOLVED,
    severity,
    message: `${site.file} (${site.what}): ${what}`,
    subject: `${site.file}: ${line}`,
  };
}
