import type {
  FileEditDto,
  GuestFacts,
  GuestFileDto,
  GuestFixName,
  InspectionConcern,
} from '@ferry/contracts';
import { unifiedDiff } from '../diff/unified-diff';
import { sha256Hex } from '../files/guestfish-paths';

/** One source disk as vSphere placed it, and the device the appliance gave it (disks in appliance order). */
export interface SourceDiskRef {
  /** The appliance's name of the disk (`/dev/sda`: the first disk given to guestfish). */
  device: string;
  /** vSphere controller kind: pvscsi, lsilogic, lsilogic-sas, buslogic, ide, sata, nvme. */
  controller: string;
  controllerKey: number;
  busNumber: number | null;
  /** SCSI target (or IDE unit) on its controller. */
  unitNumber: number | null;
}

/** One NIC of the new VM and the vSphere NIC it replaces. */
export interface NicMapping {
  label: string;
  /** The vSphere NIC's MAC; null when vSphere gave none. */
  sourceMac: string | null;
  /** The new virtio NIC's MAC (may equal sourceMac). */
  newMac: string;
}

export interface GuestFixOptions {
  /** The fixes that are enabled (the others are not planned at all). */
  fixes: readonly GuestFixName[];
  /** Keep static addresses on the new NIC instead of turning them into DHCP. */
  keepStaticIp: boolean;
  /** virt-v2v converts the guest too: Ferry leaves what it does (VMware tools packages) to it. */
  virtV2v: boolean;
}

export type PlanFacts = Pick<
  GuestFacts,
  'root' | 'filesystems' | 'mountpoints' | 'fstab' | 'osType' | 'distro' | 'packageFormat' | 'vmwareTools'
>;

export interface GuestFixInput {
  facts: PlanFacts;
  files: GuestFileDto[];
  disks: SourceDiskRef[];
  nics: NicMapping[];
  options: GuestFixOptions;
}

/** What one fixer returns. */
export interface FixerResult {
  edits: FileEditDto[];
  notes: string[];
  blockers: InspectionConcern[];
  warnings: InspectionConcern[];
}

export function emptyResult(): FixerResult {
  return { edits: [], notes: [], blockers: [], warnings: [] };
}

/** The files read, by path. */
export class GuestFileSet {
  private readonly byPath: Map<string, GuestFileDto>;

  constructor(readonly files: GuestFileDto[]) {
    this.byPath = new Map(files.map((f) => [f.path, f]));
  }

  get(path: string): GuestFileDto | undefined {
    return this.byPath.get(path);
  }

  /** A regular file's whole text, or null (absent, truncated, a directory, a symlink, not text). */
  text(path: string): string | null {
    const f = this.byPath.get(path);
    if (!f || f.truncated || f.kind !== 'file') return null;
    return f.content;
  }

  /** Present and neither truncated nor binary, but unusable for an edit: say why. */
  unreadable(path: string): string | null {
    const f = this.byPath.get(path);
    if (!f || f.sha256 === null) return null;
    if (f.kind === 'symlink') return `${path} is a symlink (to ${f.content ?? '?'}), left alone`;
    if (f.kind === 'directory') return `${path} is a directory`;
    if (f.truncated) return `${path} is larger than Ferry reads, so it was not checked`;
    if (f.content === null) return `${path} is not a text file`;
    return null;
  }

  exists(path: string): boolean {
    return (this.byPath.get(path)?.sha256 ?? null) !== null;
  }

  /** Files whose path matches a glob (`*` within one path component), sorted by path. */
  matching(pattern: string): GuestFileDto[] {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*')}$`,
    );
    return this.files
      .filter((f) => re.test(f.path) && f.sha256 !== null)
      .sort((a, b) => a.path.localeCompare(b.path));
  }
}

/** A `write` edit from the file as read to `after` (nothing when they are equal). */
export function writeEdit(files: GuestFileSet, path: string, after: string): FileEditDto[] {
  const before = files.get(path);
  const text = before?.sha256 ? files.text(path) : null;
  if (text === after) return [];
  return [
    {
      kind: 'write',
      path,
      before_sha256: before?.sha256 ?? null,
      content: after,
      diff: unifiedDiff(path, text, after),
    },
  ];
}

/** What a `write` edit leaves: the SHA-256 compare-and-set expects after it. */
export function contentSha256(content: string): string {
  return sha256Hex(Buffer.from(content, 'utf8'));
}

/** Lines of a text with their line breaks kept, so an edit changes only what it means to. */
export function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** A line's text without its line break, and the break. */
export function splitEol(line: string): [string, string] {
  return line.endsWith('\n') ? [line.slice(0, -1), '\n'] : [line, ''];
}

export function normalizeMac(mac: string): string {
  return mac.trim().toLowerCase().replace(/-/g, ':');
}
