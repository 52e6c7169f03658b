import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** One disk of an OVF's DiskSection that has a file (a disk without one is blank: nothing to import). */
export interface OvfDisk {
  /** 1-based place in the DiskSection, as the OVF orders them (blank disks keep their number). */
  index: number;
  diskId: string;
  /** The file's `ovf:href`, relative to the OVF. */
  file: string;
  /** From `ovf:format`: `vmdk` for VMware's URLs, else the URL as written (empty when absent). */
  format: string;
  /** The `#fragment` of a VMware format URL, e.g. `streamOptimized`. */
  subformat?: string;
  /** `ovf:capacity` times `ovf:capacityAllocationUnits`; null when not a plain number. */
  capacityBytes: number | null;
  /** `ovf:size` of the file, when given. */
  fileBytes?: number;
  /** `ovf:compression` (`gzip`) or a `ovf:chunkSize` split: neither can be read in place. */
  packing?: string;
}

// Namespace prefixes dropped (OVF 1.x writes `ovf:` on most attributes), attributes as `@_name`,
// every element an array, values left as text.
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
});

type Node = Record<string, unknown>;
const kids = (node: Node | undefined, name: string): Node[] => (node?.[name] as Node[] | undefined) ?? [];
const attr = (node: Node, name: string): string | undefined => {
  const v = node[`@_${name}`];
  return typeof v === 'string' ? v : undefined;
};

/** `byte`, `byte * 2^30`, `byte * 1024`: the multiplier of a DMTF programmatic unit. */
export function allocationUnits(units: string | undefined): number | null {
  if (units === undefined) return 1;
  const m = /^\s*byte\s*(?:\*\s*(\d+)\s*(?:\^\s*(\d+))?)?\s*$/i.exec(units);
  if (!m) return null;
  return m[1] === undefined ? 1 : Number(m[1]) ** (m[2] === undefined ? 1 : Number(m[2]));
}

/** Whether the first bytes of a file look like an OVF descriptor (XML whose root is an Envelope). */
export function isOvf(head: Buffer): boolean {
  return /^(\uFEFF)?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<(\w+:)?Envelope[\s>]/.test(
    head.toString('utf8'),
  );
}

/** The disks of an OVF descriptor, in DiskSection order. Throws on malformed XML or a missing file. */
export function parseOvfDisks(xml: string): OvfDisk[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`malformed OVF (line ${valid.err.line}): ${valid.err.msg}`);
  const envelope = kids(parser.parse(xml) as Node, 'Envelope')[0];
  if (!envelope) throw new Error('an OVF without an Envelope');
  const files = new Map(
    kids(kids(envelope, 'References')[0], 'File').map((f) => [attr(f, 'id') ?? '', f] as const),
  );
  // DiskSection sits in the Envelope (OVF 1.x and 2.x); some writers nest it in a VirtualSystem.
  const sections = [
    ...kids(envelope, 'DiskSection'),
    ...kids(envelope, 'VirtualSystem').flatMap((vs) => kids(vs, 'DiskSection')),
  ];
  const disks: OvfDisk[] = [];
  kids(sections[0], 'Disk').forEach((disk, i) => {
    const ref = attr(disk, 'fileRef');
    if (ref === undefined) return;
    const file = files.get(ref);
    const href = file && attr(file, 'href');
    if (!href)
      throw new Error(`disk ${attr(disk, 'diskId') ?? i + 1} names file ${ref}, which References lacks`);
    const formatUrl = attr(disk, 'format') ?? '';
    const capacity = Number(attr(disk, 'capacity'));
    const unit = allocationUnits(attr(disk, 'capacityAllocationUnits'));
    const size = Number(attr(file, 'size'));
    const compression = attr(file, 'compression');
    const packing =
      compression && compression !== 'identity' ? compression : attr(file, 'chunkSize') && 'chunked';
    disks.push({
      index: i + 1,
      diskId: attr(disk, 'diskId') ?? '',
      file: href,
      format: /vmdk/i.test(formatUrl) ? 'vmdk' : formatUrl,
      ...(/vmdk/i.test(formatUrl) && formatUrl.includes('#') && { subformat: formatUrl.split('#').pop() }),
      capacityBytes: Number.isFinite(capacity) && unit !== null ? capacity * unit : null,
      ...(Number.isFinite(size) && attr(file, 'size') !== undefined && { fileBytes: size }),
      ...(packing && { packing }),
    });
  });
  return disks;
}

/**
 * The disk `member` names: by file name, or by 1-based DiskSection index (a number or its digits);
 * with no member, the only disk. Throws an Error (the caller's `unsupported`) naming the disks when the choice is unclear.
 */
export function chooseOvfDisk(disks: OvfDisk[], member: number | string | undefined): OvfDisk {
  const names = disks.map((d) => `${d.index}: ${d.file}`).join(', ');
  if (disks.length === 0) throw new Error('the OVF has no disk with a file');
  const chosen =
    member === undefined
      ? disks.length === 1
        ? disks[0]
        : undefined
      : (disks.find((d) => d.file === member) ?? disks.find((d) => String(d.index) === String(member)));
  if (chosen) return chosen;
  if (member === undefined) throw new Error(`the OVF has ${disks.length} disks (${names}): choose one`);
  throw new Error(`the OVF has no disk ${JSON.stringify(member)}; it has ${disks.length} (${names})`);
}
