import type { DiskReader } from './partition-table';
import { crc32, guidAt, readPartitionTable } from './partition-table';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const DISK_GUID = 'F8B1F96D-6779-8745-84DC-0026D47A6870';

function writeGuid(buf: Buffer, offset: number, guid: string): void {
  const bytes = Buffer.from(guid.replace(/-/g, ''), 'hex');
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  bytes.copy(buf, offset);
}

function reader(disk: Buffer): DiskReader {
  return (offset, length) => Promise.resolve(disk.subarray(offset, offset + length));
}

function mbrEntry(
  disk: Buffer,
  sectorLba: number,
  index: number,
  type: number,
  lba: number,
  sectors: number,
) {
  const o = sectorLba * 512 + 446 + index * 16;
  disk[o] = 0;
  disk[o + 4] = type;
  disk.writeUInt32LE(lba, o + 8);
  disk.writeUInt32LE(sectors, o + 12);
  disk.writeUInt16LE(0xaa55, sectorLba * 512 + 510);
}

interface GptPart {
  type: string;
  guid: string;
  first: number;
  last: number;
  name: string;
  attributes?: bigint;
}

/** A 4 MiB disk with a protective MBR and a GPT of 128 entries at LBA 2, as sfdisk writes it. */
function gptDisk(parts: GptPart[]): Buffer {
  const disk = Buffer.alloc(4 * 1024 * 1024);
  mbrEntry(disk, 0, 0, 0xee, 1, 8191);
  const entries = Buffer.alloc(128 * 128);
  parts.forEach((p, i) => {
    const e = i * 128;
    writeGuid(entries, e, p.type);
    writeGuid(entries, e + 16, p.guid);
    entries.writeBigUInt64LE(BigInt(p.first), e + 32);
    entries.writeBigUInt64LE(BigInt(p.last), e + 40);
    entries.writeBigUInt64LE(p.attributes ?? 0n, e + 48);
    entries.write(p.name, e + 56, 'utf16le');
  });
  entries.copy(disk, 2 * 512);
  const h = Buffer.alloc(92);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(8191n, 32);
  h.writeBigUInt64LE(34n, 40);
  h.writeBigUInt64LE(8158n, 48);
  writeGuid(h, 56, DISK_GUID);
  h.writeBigUInt64LE(2n, 72);
  h.writeUInt32LE(128, 80);
  h.writeUInt32LE(128, 84);
  h.writeUInt32LE(crc32(entries), 88);
  h.writeUInt32LE(crc32(h), 16);
  h.copy(disk, 512);
  return disk;
}

describe('readPartitionTable', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('reads GUIDs in their mixed-endian layout', () => {
    const buf = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');
    expect(guidAt(buf, 0)).toBe(ESP);
  });

  it('reads a GPT: kinds by type GUID, names, unique GUIDs, sizes', async () => {
    const disk = gptDisk([
      {
        type: ESP,
        guid: '11111111-2222-3333-4444-555555555555',
        first: 2048,
        last: 4095,
        name: 'EFI System',
      },
      { type: LINUX, guid: '7D4B5FA4-5060-354E-B050-B7755C76F8BB', first: 4096, last: 8158, name: 'root' },
    ]);
    const { table, problem } = await readPartitionTable(reader(disk));
    expect(problem).toBeUndefined();
    expect(table).toEqual({
      type: 'gpt',
      diskGuid: DISK_GUID,
      partitions: [
        {
          number: 1,
          startBytes: 2048 * 512,
          sizeBytes: 2048 * 512,
          typeId: ESP,
          kind: 'efi-system',
          name: 'EFI System',
          guid: '11111111-2222-3333-4444-555555555555',
          bootable: false,
        },
        {
          number: 2,
          startBytes: 4096 * 512,
          sizeBytes: 4063 * 512,
          typeId: LINUX,
          kind: 'linux-filesystem',
          name: 'root',
          guid: '7D4B5FA4-5060-354E-B050-B7755C76F8BB',
          bootable: false,
        },
      ],
    });
  });

  it('keeps partition numbers of a sparse GPT and reads the legacy-bootable attribute', async () => {
    const disk = gptDisk([
      { type: '00000000-0000-0000-0000-000000000000', guid: DISK_GUID, first: 0, last: 0, name: '' },
      {
        type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
        guid: DISK_GUID,
        first: 2048,
        last: 4095,
        name: '',
        attributes: 4n,
      },
    ]);
    const { table } = await readPartitionTable(reader(disk));
    expect(table?.partitions).toEqual([
      expect.objectContaining({ number: 2, kind: 'microsoft-basic-data', bootable: true }),
    ]);
    expect(table?.partitions[0]).not.toHaveProperty('name');
  });

  it('refuses a GPT whose header CRC does not match', async () => {
    const disk = gptDisk([{ type: LINUX, guid: DISK_GUID, first: 2048, last: 4095, name: 'x' }]);
    disk.writeBigUInt64LE(9999n, 512 + 40); // first usable LBA changed after the CRC was computed
    expect(await readPartitionTable(reader(disk))).toEqual({
      table: null,
      problem: 'GPT header CRC mismatch',
    });
  });

  it('refuses a GPT whose entry array CRC does not match', async () => {
    const disk = gptDisk([{ type: LINUX, guid: DISK_GUID, first: 2048, last: 4095, name: 'x' }]);
    disk[2 * 512 + 40] ^= 0xff;
    expect((await readPartitionTable(reader(disk))).problem).toBe('GPT entry array CRC mismatch');
  });

  it('reads an MBR with an extended partition and its logical partitions', async () => {
    const disk = Buffer.alloc(8 * 1024 * 1024);
    mbrEntry(disk, 0, 0, 0x83, 2048, 8192);
    disk[446] = 0x80;
    mbrEntry(disk, 0, 1, 0x05, 10240, 6144);
    // First EBR at the extended start: a swap partition 2048 sectors in, then a link to the next EBR.
    mbrEntry(disk, 10240, 0, 0x82, 2048, 1024);
    mbrEntry(disk, 10240, 1, 0x05, 4096, 2048);
    // The last EBR: no link entry ends the chain.
    mbrEntry(disk, 10240 + 4096, 0, 0x8e, 1, 1000);
    const { table, problem } = await readPartitionTable(reader(disk));
    expect(problem).toBeUndefined();
    expect(table?.type).toBe('mbr');
    expect(
      table?.partitions.map((p) => [p.number, p.kind, p.startBytes / 512, p.sizeBytes / 512, p.bootable]),
    ).toEqual([
      [1, 'linux-filesystem', 2048, 8192, true],
      [2, 'extended', 10240, 6144, false],
      [5, 'linux-swap', 12288, 1024, false],
      [6, 'linux-lvm', 14337, 1000, false],
    ]);
    expect(table?.partitions[0]?.typeId).toBe('0x83');
  });

  it('stops a looping EBR chain', async () => {
    const disk = Buffer.alloc(1024 * 1024);
    mbrEntry(disk, 0, 0, 0x0f, 100, 1000);
    mbrEntry(disk, 100, 0, 0x83, 10, 10);
    mbrEntry(disk, 100, 1, 0x05, 0, 1000); // points at itself
    const { problem, table } = await readPartitionTable(reader(disk));
    expect(problem).toMatch(/looping EBR chain/);
    expect(table?.partitions).toHaveLength(129);
  });

  it('says none for a blank disk, a whole-disk filesystem, or a tiny disk', async () => {
    expect((await readPartitionTable(reader(Buffer.alloc(1024 * 1024)))).table).toEqual({
      type: 'none',
      partitions: [],
    });
    const fat = Buffer.alloc(1024 * 1024);
    fat.set([0xeb, 0x3c, 0x90], 0);
    fat.write('mkfs.fat', 3, 'latin1');
    fat.writeUInt16LE(0xaa55, 510);
    fat[446 + 4] = 0x01; // the boot code can look like an entry
    expect((await readPartitionTable(reader(fat))).table?.type).toBe('none');
    expect((await readPartitionTable(reader(Buffer.alloc(100)))).table?.type).toBe('none');
  });

  it('reports a protective MBR without a GPT', async () => {
    const disk = Buffer.alloc(1024 * 1024);
    mbrEntry(disk, 0, 0, 0xee, 1, 2047);
    expect(await readPartitionTable(reader(disk))).toEqual({
      table: null,
      problem: 'protective MBR without a GPT header',
    });
  });
});
