import type { PartitionFacts, PartitionTableFacts } from '@ferry/contracts';

/** Reads `length` bytes of the disk at `offset`; shorter at the end of the disk. */
export type DiskReader = (offset: number, length: number) => Promise<Buffer>;

/** The table, or null with why it could not be read (a damaged GPT is a fact, not an error). */
export interface PartitionTableResult {
  table: PartitionTableFacts | null;
  problem?: string;
}

const GPT_KINDS: Record<string, string> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'efi-system',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'linux-filesystem',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'linux-swap',
  '21686148-6449-6E6F-744E-656564454649': 'bios-boot',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'linux-lvm',
  'A19D880F-05FC-4D3B-A006-743F0F84911E': 'linux-raid',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'linux-extended-boot',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'linux-root-x86-64',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'microsoft-basic-data',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'microsoft-reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'windows-recovery',
};

const MBR_KINDS: Record<number, string> = {
  0x01: 'fat12',
  0x04: 'fat16',
  0x05: 'extended',
  0x06: 'fat16',
  0x07: 'ntfs',
  0x0b: 'fat32',
  0x0c: 'fat32',
  0x0e: 'fat16',
  0x0f: 'extended',
  0x27: 'windows-recovery',
  0x82: 'linux-swap',
  0x83: 'linux-filesystem',
  0x85: 'extended',
  0x8e: 'linux-lvm',
  0xee: 'gpt-protective',
  0xef: 'efi-system',
  0xfd: 'linux-raid',
};

const EXTENDED = new Set([0x05, 0x0f, 0x85]);
/** More logical partitions than this means a looping EBR chain. */
const MAX_LOGICAL = 128;

/**
 * Reads a disk's partition table: GPT (its header CRC and entry array CRC checked) behind a
 * protective MBR, or an MBR with its logical partitions. 512-byte sectors, or 4096 for a GPT that
 * says so by where its header is. Never throws for what is on the disk; only `read` can.
 */
export async function readPartitionTable(read: DiskReader): Promise<PartitionTableResult> {
  const head = await read(0, 8 * 4096);
  for (const sectorSize of [512, 4096]) {
    if (
      head.length >= sectorSize + 92 &&
      head.toString('latin1', sectorSize, sectorSize + 8) === 'EFI PART'
    ) {
      return readGpt(read, head, sectorSize);
    }
  }
  if (head.length < 512 || head.readUInt16LE(510) !== 0xaa55)
    return { table: { type: 'none', partitions: [] } };
  const entries = mbrEntries(head.subarray(0, 512));
  if (!entries || looksLikeBootSector(head)) return { table: { type: 'none', partitions: [] } };
  if (entries.some((e) => e.type === 0xee)) {
    return { table: null, problem: 'protective MBR without a GPT header' };
  }
  const partitions: PartitionFacts[] = entries.map((e) => mbrPartition(e, e.index + 1, 0));
  const extended = entries.find((e) => EXTENDED.has(e.type));
  let problem: string | undefined;
  if (extended) problem = await readLogical(read, extended.lba, partitions);
  return { table: { type: 'mbr', partitions }, ...(problem ? { problem } : {}) };
}

interface MbrEntry {
  index: number;
  status: number;
  type: number;
  lba: number;
  sectors: number;
}

/** The used entries of an MBR sector, or null when it is not one (a bad status byte). */
function mbrEntries(sector: Buffer): MbrEntry[] | null {
  const entries: MbrEntry[] = [];
  for (let index = 0; index < 4; index++) {
    const o = 446 + index * 16;
    const status = sector[o];
    if (status !== 0x00 && status !== 0x80) return null;
    const type = sector[o + 4];
    const sectors = sector.readUInt32LE(o + 12);
    if (type === 0 || sectors === 0) continue;
    entries.push({ index, status, type, lba: sector.readUInt32LE(o + 8), sectors });
  }
  return entries;
}

/** A FAT or NTFS filesystem on the whole disk also ends its first sector with 55 AA. */
function looksLikeBootSector(head: Buffer): boolean {
  const oem = head.toString('latin1', 3, 11);
  return (head[0] === 0xeb || head[0] === 0xe9) && /^(NTFS |MSDOS|MSWIN|mkfs\.fat|EXFAT)/.test(oem);
}

function mbrPartition(e: MbrEntry, number: number, baseLba: number): PartitionFacts {
  return {
    number,
    startBytes: (baseLba + e.lba) * 512,
    sizeBytes: e.sectors * 512,
    typeId: `0x${e.type.toString(16).padStart(2, '0')}`,
    kind: MBR_KINDS[e.type] ?? 'unknown',
    bootable: e.status === 0x80,
  };
}

/** Follows the EBR chain; logical partitions are numbered from 5. Returns a problem, if any. */
async function readLogical(
  read: DiskReader,
  extendedLba: number,
  partitions: PartitionFacts[],
): Promise<string | undefined> {
  let ebrLba = extendedLba;
  for (let number = 5; number < 5 + MAX_LOGICAL; number++) {
    const sector = await read(ebrLba * 512, 512);
    if (sector.length < 512 || sector.readUInt16LE(510) !== 0xaa55) return `no EBR at sector ${ebrLba}`;
    const entries = mbrEntries(sector);
    if (!entries) return `bad EBR at sector ${ebrLba}`;
    const [logical, next] = [entries.find((e) => e.index === 0), entries.find((e) => e.index === 1)];
    if (logical) partitions.push(mbrPartition(logical, number, ebrLba));
    if (!next || !EXTENDED.has(next.type)) return undefined;
    ebrLba = extendedLba + next.lba;
  }
  return `more than ${MAX_LOGICAL} logical partitions (a looping EBR chain)`;
}

async function readGpt(read: DiskReader, head: Buffer, sectorSize: number): Promise<PartitionTableResult> {
  const header = head.subarray(sectorSize, sectorSize * 2);
  const headerSize = header.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sectorSize) {
    return { table: null, problem: `GPT header size ${headerSize} is invalid` };
  }
  const copy = Buffer.from(header.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== header.readUInt32LE(16)) return { table: null, problem: 'GPT header CRC mismatch' };
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || entrySize % 8 !== 0 || count > 4096) {
    return { table: null, problem: `GPT entry array of ${count} × ${entrySize} bytes is invalid` };
  }
  const array = await read(entriesLba * sectorSize, count * entrySize);
  if (array.length < count * entrySize)
    return { table: null, problem: 'GPT entry array past the end of the disk' };
  if (crc32(array) !== header.readUInt32LE(88))
    return { table: null, problem: 'GPT entry array CRC mismatch' };
  const partitions: PartitionFacts[] = [];
  for (let i = 0; i < count; i++) {
    const e = array.subarray(i * entrySize, (i + 1) * entrySize);
    const typeId = guidAt(e, 0);
    if (typeId === '00000000-0000-0000-0000-000000000000') continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const attributes = e.readBigUInt64LE(48);
    const name = e.toString('utf16le', 56, 128).replace(/\0[\s\S]*$/, '');
    partitions.push({
      number: i + 1,
      startBytes: first * sectorSize,
      sizeBytes: (last - first + 1) * sectorSize,
      typeId,
      kind: GPT_KINDS[typeId] ?? 'unknown',
      ...(name ? { name } : {}),
      guid: guidAt(e, 16),
      // Attribute bit 2: legacy BIOS bootable.
      bootable: (attributes & 4n) !== 0n,
    });
  }
  return { table: { type: 'gpt', diskGuid: guidAt(header, 56), partitions } };
}

/** A GUID as on disk: its first three fields little-endian, the last two as bytes. */
export function guidAt(buf: Buffer, offset: number): string {
  const hex = (start: number, end: number, reverse: boolean): string => {
    const bytes = [...buf.subarray(offset + start, offset + end)];
    return (reverse ? bytes.reverse() : bytes).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)]
    .join('-')
    .toUpperCase();
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3), as GPT uses it. Node's zlib.crc32 only exists from 20.15. */
export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
