import { parseImageInfo } from './image-info';

// `qemu-img info --output=json --backing-chain -U` of an overlay (what vm-operator's snapshot makes)
// on its base image, as qemu-img 7.2 prints it.
const OVERLAY_CHAIN = `[
    {
        "backing-filename-format": "qcow2",
        "virtual-size": 68157440,
        "filename": "/var/lib/ferry/vms/1/disk-0.overlay.qcow2",
        "cluster-size": 65536,
        "format": "qcow2",
        "actual-size": 200704,
        "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false, "refcount-bits": 16, "corrupt": false, "extended-l2": false}},
        "full-backing-filename": "/var/lib/ferry/disks/disk-0.qcow2",
        "backing-filename": "../../disks/disk-0.qcow2",
        "dirty-flag": false
    },
    {
        "virtual-size": 68157440,
        "filename": "/var/lib/ferry/disks/disk-0.qcow2",
        "cluster-size": 65536,
        "format": "qcow2",
        "actual-size": 1318912,
        "format-specific": {"type": "qcow2", "data": {"compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false, "refcount-bits": 16, "corrupt": false, "extended-l2": false}},
        "dirty-flag": false
    }
]`;

describe('parseImageInfo', () => {
  it('reads sizes and the backing chain, the image first, backing paths resolved', () => {
    expect(parseImageInfo(OVERLAY_CHAIN, '/var/lib/ferry/vms/1/disk-0.overlay.qcow2')).toEqual({
      format: 'qcow2',
      virtualSizeBytes: 68157440,
      actualSizeBytes: 200704,
      backingChain: [
        { path: '/var/lib/ferry/vms/1/disk-0.overlay.qcow2', format: 'qcow2', virtualSizeBytes: 68157440 },
        { path: '/var/lib/ferry/disks/disk-0.qcow2', format: 'qcow2', virtualSizeBytes: 68157440 },
      ],
      backingFile: '../../disks/disk-0.qcow2',
    });
  });

  it("reads a VMDK's create type and extents, for each layer of its chain", () => {
    const vmdk = (name: string, createType: string) =>
      `{"virtual-size": 3221225472, "filename": "${name}.vmdk", "format": "vmdk",
        "format-specific": {"type": "vmdk", "data": {"create-type": "${createType}", "extents": [
          {"virtual-size": 2147483648, "filename": "${name}-s001.vmdk", "format": "SPARSE"},
          {"virtual-size": 1073741824, "filename": "${name}-s002.vmdk", "format": "SPARSE"}]}}}`;
    const json = `[${vmdk('child', 'twoGbMaxExtentSparse').replace('{', '{"backing-filename": "base.vmdk", "full-backing-filename": "/d/base.vmdk",')}, ${vmdk('base', 'monolithicFlat')}]`;
    const info = parseImageInfo(json, '/d/child.vmdk');
    expect(info.backingFile).toBe('base.vmdk');
    expect(info.vmdk).toEqual({
      createType: 'twoGbMaxExtentSparse',
      extents: [
        { path: 'child-s001.vmdk', type: 'SPARSE', virtualSizeBytes: 2147483648 },
        { path: 'child-s002.vmdk', type: 'SPARSE', virtualSizeBytes: 1073741824 },
      ],
    });
    expect(info.backingChain.map((l) => [l.path, l.vmdk?.createType])).toEqual([
      ['/d/child.vmdk', 'twoGbMaxExtentSparse'],
      ['/d/base.vmdk', 'monolithicFlat'],
    ]);
  });

  it('reads a raw image, and a single object from a qemu-img without --backing-chain', () => {
    const raw = '{"virtual-size": 68157440, "filename": "disk.raw", "format": "raw", "dirty-flag": false}';
    expect(parseImageInfo(raw, '/images/disk.raw')).toEqual({
      format: 'raw',
      virtualSizeBytes: 68157440,
      actualSizeBytes: null,
      backingChain: [{ path: '/images/disk.raw', format: 'raw', virtualSizeBytes: 68157440 }],
    });
  });

  it('refuses an answer without a format or size', () => {
    expect(() => parseImageInfo('[{}]', '/x')).toThrow('qemu-img info gave no format or virtual size for /x');
    expect(() => parseImageInfo('not json', '/x')).toThrow();
  });
});
