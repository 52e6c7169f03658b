/** Reads `length` bytes at `offset`; fewer only at the end of the file. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

export interface TarMember {
  name: string;
  /** Where the member's data starts in the archive. */
  offset: number;
  size: number;
  /** The typeflag: `0` (or NUL) a regular file, `5` a directory, … */
  type: string;
}

export interface TarHeader {
  name: string;
  size: number;
  type: string;
}

const BLOCK = 512;
/** An OVA holds a handful of files; a "tar" of thousands is something else. */
const MAX_MEMBERS = 4096;

/** Whether a 512-byte block is a POSIX or GNU tar header (`ustar` at 257). */
export function isTarHeader(block: Buffer): boolean {
  return block.length >= BLOCK && block.subarray(257, 262).toString('latin1') === 'ustar';
}

function text(block: Buffer, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** A numeric field: octal text, or GNU's base-256 (high bit set) for sizes of 8 GiB and more. */
function number(block: Buffer, at: number, length: number): number {
  const field = block.subarray(at, at + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const octal = text(block, at, length).trim();
  if (!/^[0-7]*$/.test(octal)) throw new Error(`a tar header with a bad number field "${octal}"`);
  return octal === '' ? 0 : parseInt(octal, 8);
}

/**
 * One 512-byte header: null for an all-zero block (the end of the archive). Throws when the checksum
 * does not match or the block is not ustar, i.e. the file is no tar or is damaged here.
 */
export function parseTarHeader(block: Buffer): TarHeader | null {
  if (block.length < BLOCK) throw new Error('a truncated tar header');
  if (block.subarray(0, BLOCK).every((b) => b === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  if (number(block, 148, 8) !== sum) throw new Error('a tar header with a bad checksum');
  if (!isTarHeader(block)) throw new Error('not a ustar header');
  const prefix = text(block, 345, 155);
  const name = text(block, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: number(block, 124, 12),
    type: String.fromCharCode(block[156]!).replace('\0', '0'),
  };
}

/** `path=` and `size=` of a pax extended header (`<length> <key>=<value>\n` records). */
function paxRecords(data: Buffer): { name?: string; size?: number } {
  const found: { name?: string; size?: number } = {};
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    if (record.startsWith('path=')) found.name = record.slice(5);
    if (record.startsWith('size=')) found.size = Number(record.slice(5));
    at += length;
  }
  return found;
}

/**
 * The members of a tar archive, read header by header (the data between them is skipped, never read):
 * ustar names with their prefix, GNU long names (`L`), pax `path=` and `size=` records.
 */
export async function listTarMembers(read: ReadAt, totalBytes: number): Promise<TarMember[]> {
  const members: TarMember[] = [];
  let next: { name?: string; size?: number } = {};
  for (let at = 0; at + BLOCK <= totalBytes;) {
    const header = parseTarHeader(await read(at, BLOCK));
    if (!header) break;
    const offset = at + BLOCK;
    const size = header.type === 'L' || header.type === 'x' ? header.size : (next.size ?? header.size);
    const name = next.name ?? header.name;
    if (!Number.isSafeInteger(size) || offset + size > totalBytes)
      throw new Error(`the tar member ${name} runs past the end of the file`);
    at = offset + Math.ceil(size / BLOCK) * BLOCK;
    if (header.type === 'L' || header.type === 'x') {
      const data = await read(offset, Math.min(size, 64 * 1024));
      next =
        header.type === 'L'
          ? { ...next, name: text(data, 0, data.length) }
          : { ...next, ...paxRecords(data) };
      continue;
    }
    if (header.type === 'g') continue;
    members.push({ name, offset, size, type: header.type });
    next = {};
    if (members.length > MAX_MEMBERS) throw new Error(`more than ${MAX_MEMBERS} members: not an OVA`);
  }
  return members;
}
