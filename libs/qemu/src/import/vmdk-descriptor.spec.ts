import { isVmdkDescriptor, parseVmdkDescriptor, rewriteVmdkDescriptor } from './vmdk-descriptor';

// What ESXi writes beside a thick disk (`web01.vmdk` naming `web01-flat.vmdk`).
const ESXI_FLAT = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

# Extent description
RW 41943040 VMFS "web01-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "2610"
ddb.uuid = "60 00 C2 9a 1b 2c 3d 4e-5f 60 71 82 93 a4 b5 c6"
`;

// A snapshot's delta on VMFS 6 (seSparse), naming its parent.
const ESXI_DELTA = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=3c1d9a7e
parentCID=fffffffe
createType="seSparse"
parentFileNameHint="web01.vmdk"
# Extent description
RW 41943040 SESPARSE "web01-000001-sesparse.vmdk"
`;

// What qemu-img writes for twoGbMaxExtentFlat: FLAT extents with their offsets, padded with NULs.
const QEMU_SPLIT = `# Disk DescriptorFile
version=1
CID=82625d0f
parentCID=ffffffff
createType="twoGbMaxExtentFlat"

# Extent description
RW 4194304 FLAT "big-f001.vmdk" 0
RW 1048576 FLAT "big-f002.vmdk" 0
${'\0'.repeat(300)}`;

describe('parseVmdkDescriptor', () => {
  it("reads ESXi's vmfs descriptor: one extent, no offset, the size in sectors", () => {
    expect(parseVmdkDescriptor(ESXI_FLAT)).toEqual({
      createType: 'vmfs',
      extents: [{ access: 'RW', sectors: 41943040, type: 'VMFS', file: 'web01-flat.vmdk', offsetSectors: 0 }],
      sizeBytes: 41943040 * 512,
    });
  });

  it('reads a delta: its parent and its seSparse extent', () => {
    const d = parseVmdkDescriptor(ESXI_DELTA);
    expect(d.createType).toBe('seSparse');
    expect(d.parent).toBe('web01.vmdk');
    expect(d.extents.map((e) => [e.type, e.file])).toEqual([['SESPARSE', 'web01-000001-sesparse.vmdk']]);
  });

  it("reads several FLAT extents with offsets, ignoring qemu's NUL padding", () => {
    const d = parseVmdkDescriptor(QEMU_SPLIT);
    expect(d.extents.map((e) => [e.file, e.sectors, e.offsetSectors])).toEqual([
      ['big-f001.vmdk', 4194304, 0],
      ['big-f002.vmdk', 1048576, 0],
    ]);
    expect(d.sizeBytes).toBe((4194304 + 1048576) * 512);
  });

  it('refuses what qemu would read differently: read-only, ZERO and RDM extents, FLAT without offset', () => {
    const swap = (line: string) => ESXI_FLAT.replace('RW 41943040 VMFS "web01-flat.vmdk"', line);
    expect(() => parseVmdkDescriptor(swap('RDONLY 41943040 VMFS "web01-flat.vmdk"'))).toThrow(
      /unsupported extent/,
    );
    expect(() => parseVmdkDescriptor(swap('RW 41943040 ZERO'))).toThrow(/unsupported extent/);
    expect(() => parseVmdkDescriptor(swap('RW 41943040 VMFSRDM "web01-rdm.vmdk"'))).toThrow(
      /unsupported extent/,
    );
    expect(() => parseVmdkDescriptor(swap('RW 41943040 FLAT "web01-flat.vmdk"'))).toThrow(
      /without an offset/,
    );
  });

  it('refuses text that is no descriptor', () => {
    expect(() => parseVmdkDescriptor('# Disk DescriptorFile\nversion=1\n')).toThrow(/createType/);
    expect(() => parseVmdkDescriptor('CID=1\ncreateType="vmfs"\n')).toThrow(/without extents/);
    expect(() => parseVmdkDescriptor(ESXI_FLAT.replace('CID=fffffffe', ''))).toThrow(/without a CID/);
  });
});

describe('isVmdkDescriptor', () => {
  it('tells a text descriptor from a sparse VMDK header', () => {
    expect(isVmdkDescriptor(Buffer.from(ESXI_FLAT))).toBe(true);
    expect(isVmdkDescriptor(Buffer.from('KDMV\x01\x00\x00\x00# Disk DescriptorFile', 'latin1'))).toBe(false);
  });
});

describe('rewriteVmdkDescriptor', () => {
  it('renames the extents in order and the parent, and keeps every other line', () => {
    const out = rewriteVmdkDescriptor(ESXI_DELTA, {
      extents: ['nbd+unix:///?socket=/t/e0.sock'],
      parent: 'd1.vmdk',
    });
    expect(out).toContain('RW 41943040 SESPARSE "nbd+unix:///?socket=/t/e0.sock"');
    expect(out).toContain('parentFileNameHint="d1.vmdk"');
    expect(out).toContain('CID=3c1d9a7e');
    expect(parseVmdkDescriptor(out).parent).toBe('d1.vmdk');
  });

  it('keeps FLAT offsets, drops the NUL padding, and takes a name with $ literally', () => {
    const out = rewriteVmdkDescriptor(QEMU_SPLIT, { extents: ['a$&.sock', 'b.sock'] });
    expect(out).toContain('RW 4194304 FLAT "a$&.sock" 0');
    expect(out).toContain('RW 1048576 FLAT "b.sock" 0');
    expect(out).not.toContain('\0');
  });

  it('refuses names it cannot write and too few names', () => {
    expect(() => rewriteVmdkDescriptor(ESXI_FLAT, { extents: ['a"b'] })).toThrow(/cannot name/);
    expect(() => rewriteVmdkDescriptor(QEMU_SPLIT, { extents: ['only-one'] })).toThrow(/more extents/);
  });
});
