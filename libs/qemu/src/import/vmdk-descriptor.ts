/** A descriptor is small text; anything larger is not one (and is not fetched whole). */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

/** The extent types qemu's vmdk driver reads; it skips any other line without a word. */
const READABLE = new Set(['FLAT', 'VMFS', 'SPARSE', 'VMFSSPARSE', 'SESPARSE']);

export interface VmdkExtent {
  /** `RW`; qemu skips `RDONLY` and `NOACCESS` lines, so a descriptor with one is refused. */
  access: string;
  sectors: number;
  /** `FLAT`, `VMFS` (raw data), `SPARSE`, `VMFSSPARSE`, `SESPARSE` (their own metadata). */
  type: string;
  /** As the descriptor names it, relative to the descriptor. */
  file: string;
  /** Where the data starts in a FLAT file, in sectors. */
  offsetSectors: number;
}

export interface VmdkDescriptor {
  createType: string;
  /** `parentFileNameHint`: the parent of a delta disk, relative to the descriptor. */
  parent?: string;
  extents: VmdkExtent[];
  /** Sum of the extents' sectors, in bytes: the guest-visible size. */
  sizeBytes: number;
}

/** Whether these first bytes of a file are a text descriptor (not a binary sparse VMDK's header). */
export function isVmdkDescriptor(head: Buffer): boolean {
  return /^\s*# Disk DescriptorFile/.test(head.subarray(0, 64).toString('latin1'));
}

const EXTENT = /^(\w+)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/;
const SETTING = /^([\w.]+)\s*=\s*"?([^"]*)"?\s*$/;

/**
 * Parses a VMDK text descriptor (VMware's "Virtual Disk Format 1.1", as ESXi and qemu write it). Throws
 * an Error naming the line for a descriptor qemu would read differently than VMware (a read-only or
 * ZERO extent, an RDM, a FLAT extent without an offset) or would refuse (no CID).
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor {
  // A descriptor qemu writes is padded to its sector with NULs.
  const lines = text.replace(/\0+$/, '').split(/\r?\n/);
  let createType: string | undefined;
  let parent: string | undefined;
  let cid = false;
  const extents: VmdkExtent[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const extent = EXTENT.exec(line);
    if (extent && /^(RW|RDONLY|NOACCESS)$/.test(extent[1]!)) {
      const [, access, sectors, type, file, offset] = extent as unknown as string[];
      if (access !== 'RW' || !READABLE.has(type!) || file === undefined)
        throw new Error(`unsupported extent (qemu reads only RW FLAT, VMFS and sparse extents): ${line}`);
      if (type === 'FLAT' && offset === undefined)
        throw new Error(`a FLAT extent without an offset: ${line}`);
      extents.push({
        access: access!,
        sectors: Number(sectors),
        type: type!,
        file: file!,
        offsetSectors: Number(offset ?? 0),
      });
      continue;
    }
    const setting = SETTING.exec(line);
    if (setting?.[1] === 'createType') createType = setting[2];
    else if (setting?.[1] === 'parentFileNameHint') parent = setting[2];
    else if (setting?.[1] === 'CID') cid = true;
  }
  if (!createType) throw new Error('a VMDK descriptor without a createType');
  // qemu refuses one without with a bare "Invalid argument"; VMware always writes it.
  if (!cid) throw new Error('a VMDK descriptor without a CID line');
  if (extents.length === 0) throw new Error('a VMDK descriptor without extents');
  return {
    createType,
    ...(parent && { parent }),
    extents,
    sizeBytes: extents.reduce((sum, e) => sum + e.sectors * 512, 0),
  };
}

/**
 * The same descriptor with the extents' file names (in order) and the parent replaced, every other
 * line as it was. Names must not hold a double quote (the descriptor has no escape for one).
 */
export function rewriteVmdkDescriptor(text: string, names: { extents: string[]; parent?: string }): string {
  let n = 0;
  const quote = (name: string) => {
    if (name.includes('"') || /[\r\n]/.test(name))
      throw new Error(`cannot name ${name} in a VMDK descriptor`);
    return `"${name}"`;
  };
  return text
    .replace(/\0+$/, '')
    .split('\n')
    .map((line) => {
      const extent = EXTENT.exec(line.trim());
      if (extent && extent[4] !== undefined && /^(RW|RDONLY|NOACCESS)$/.test(extent[1]!)) {
        const name = names.extents[n++];
        if (name === undefined) throw new Error('more extents in the descriptor than names for them');
        return line.replace(/"[^"]*"/, () => quote(name));
      }
      if (names.parent !== undefined && /^\s*parentFileNameHint\s*=/.test(line))
        return `parentFileNameHint=${quote(names.parent)}`;
      return line;
    })
    .join('\n');
}
