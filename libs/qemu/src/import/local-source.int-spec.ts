import { copyFile, mkdir, mkdtemp, readdir, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, buildOva, patternedRaw, runTool, writePattern } from '@ferry/testing';
import { compareImages, convertImage } from '../img/qemu-img';
import { ImportSourceError } from './import-source';
import type { OpenedSource } from './import-source';
import { openImportSource } from './open-import-source';
import { listOvaDisks } from './ova-source';

const qemu = { qemuImg: 'qemu-img', timeoutMs: 120_000 };
const open = (path: string, member?: number | string) =>
  openImportSource({ kind: 'file', path, member }, { timeoutMs: 60_000 });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as ImportSourceError,
  );

/** Converts the opened source to qcow2 the way volume-daemon does, and compares it with `raw`. */
async function importsAs(opened: OpenedSource, raw: string, dir: string): Promise<boolean> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.qcow2`);
  await convertImage(opened.image, out, { sourceFormat: opened.format, format: 'qcow2' }, qemu);
  const result = await compareImages({ path: raw, format: 'raw' }, { path: out, format: 'qcow2' }, qemu);
  await rm(out);
  return result.identical;
}

/** Local files of every format a vSphere or hosted export may hand over, through qemu-img itself. */
describe('openImportSource (local files)', () => {
  let dir: string;
  let raw: string;
  const SIZE = 64 * MiB;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-import-local-'));
    raw = join(dir, 'disk.raw');
    await patternedRaw(raw, SIZE, [0, 5 * MiB + 512, 33 * MiB, SIZE - MiB]);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['raw', 'raw', []],
    ['qcow2', 'qcow2', []],
    ['vpc', 'vpc', ['-o', 'subformat=dynamic,force_size=on']],
    ['vhdx', 'vhdx', []],
    ['vmdk monolithicSparse', 'vmdk', ['-o', 'subformat=monolithicSparse']],
    ['vmdk monolithicFlat', 'vmdk', ['-o', 'subformat=monolithicFlat']],
    ['vmdk streamOptimized', 'vmdk', ['-o', 'subformat=streamOptimized']],
  ])('reads %s as qemu-img wrote it, identical once converted', async (kind, format, opts) => {
    const image = join(dir, `image.${format}`);
    if (format === 'raw') await copyFile(raw, image);
    else await runTool('qemu-img', ['convert', '-f', 'raw', '-O', format, ...opts, raw, image]);
    const opened = await open(image);
    expect(opened.format).toBe(format);
    expect(opened.virtualSizeBytes).toBe(SIZE);
    expect(opened.layers[0]).toMatch(new RegExp(`^${kind}: image\\.${format}`));
    expect(opened.sourceBytes).toBeGreaterThan(0);
    expect(await importsAs(opened, raw, dir)).toBe(true);
    await opened.close();
  });

  it.each(['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'])(
    'reads a %s VMDK of 2.5 GiB: two extents, data across their boundary',
    async (subformat) => {
      const big = join(dir, 'big.raw');
      const size = 2560 * MiB;
      await patternedRaw(big, size, [0, 2048 * MiB - MiB / 2, size - MiB]);
      const vmdk = join(dir, 'big.vmdk');
      await runTool('qemu-img', [
        'convert',
        '-f',
        'raw',
        '-O',
        'vmdk',
        '-o',
        `subformat=${subformat}`,
        big,
        vmdk,
      ]);
      const opened = await open(vmdk);
      const suffix = subformat.endsWith('Sparse') ? 's' : 'f';
      expect(opened.layers).toEqual([
        `vmdk ${subformat}: big.vmdk + big-${suffix}001.vmdk, big-${suffix}002.vmdk (2.5 GiB)`,
      ]);
      expect(opened.files).toHaveLength(3);
      expect(await importsAs(opened, big, dir)).toBe(true);
    },
    120_000,
  );

  it("flattens a delta chain (child.vmdk on base.vmdk) into the base with the child's write", async () => {
    const base = join(dir, 'base.vmdk');
    const child = join(dir, 'child.vmdk');
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, base]);
    await runTool('qemu-img', ['create', '-q', '-f', 'vmdk', '-b', base, '-F', 'vmdk', child]);
    await writePattern(child, 'vmdk', 0xab, MiB, 64 * 1024);
    const expected = join(dir, 'expected.raw');
    await copyFile(raw, expected);
    await writePattern(expected, 'raw', 0xab, MiB, 64 * 1024);

    const opened = await open(child);
    expect(opened.layers).toEqual([
      'vmdk monolithicSparse: child.vmdk (64 MiB)',
      'vmdk monolithicSparse: base.vmdk (64 MiB), backing of layer 1',
    ]);
    expect(opened.files).toEqual([child, base]);
    expect(await importsAs(opened, expected, dir)).toBe(true);
    expect(await importsAs(opened, raw, dir)).toBe(false);
  });

  it('names a missing parent, extent or file as not-found', async () => {
    const base = join(dir, 'gone.vmdk');
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, base]);
    await runTool('qemu-img', [
      'create',
      '-q',
      '-f',
      'vmdk',
      '-b',
      base,
      '-F',
      'vmdk',
      join(dir, 'orphan.vmdk'),
    ]);
    await rm(base);
    const orphan = await failure(open(join(dir, 'orphan.vmdk')));
    expect(orphan).toBeInstanceOf(ImportSourceError);
    expect([orphan!.reason, orphan!.message]).toEqual(['not-found', expect.stringContaining('gone.vmdk')]);

    await runTool('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=monolithicFlat',
      raw,
      join(dir, 'web01.vmdk'),
    ]);
    await rm(join(dir, 'web01-flat.vmdk'));
    const flat = await failure(open(join(dir, 'web01.vmdk')));
    expect([flat!.reason, flat!.message]).toEqual(['not-found', expect.stringContaining('web01-flat.vmdk')]);

    expect((await failure(open(join(dir, 'nothing.raw'))))!.reason).toBe('not-found');
    expect((await failure(open(dir)))!.reason).toBe('unsupported');
  });

  it("gives truncated images as corrupt, in qemu-img's words", async () => {
    const sparse = join(dir, 'cut.vmdk');
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, sparse]);
    await truncate(sparse, 4096);
    const vmdk = await failure(open(sparse));
    expect([vmdk!.reason, vmdk!.message]).toEqual(['corrupt', expect.stringContaining('File truncated')]);

    // qemu reads a short flat extent as zeros past its end, and compare would call the copy identical.
    await runTool('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=monolithicFlat',
      raw,
      join(dir, 'short.vmdk'),
    ]);
    await truncate(join(dir, 'short-flat.vmdk'), 8 * MiB);
    const flat = await failure(open(join(dir, 'short.vmdk')));
    expect([flat!.reason, flat!.message]).toEqual([
      'corrupt',
      expect.stringMatching(/short-flat\.vmdk is truncated: it holds 8 MiB/),
    ]);

    const qcow2 = join(dir, 'cut.qcow2');
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    await truncate(qcow2, 300 * 1024);
    const q = await failure(open(qcow2));
    expect([q!.reason, q!.message]).toEqual([
      'corrupt',
      expect.stringMatching(/exceeding the end of the file/),
    ]);
  });

  describe('an OVA of two streamOptimized disks, and its OVF beside the disks', () => {
    let second: string;
    let ova: string;
    let ovf: string;
    beforeEach(async () => {
      second = join(dir, 'second.raw');
      await patternedRaw(second, 32 * MiB, [0, 17 * MiB], 1);
      const so = ['-O', 'vmdk', '-o', 'subformat=streamOptimized'];
      await runTool('qemu-img', ['convert', '-f', 'raw', ...so, raw, join(dir, 'web01-disk1.vmdk')]);
      await runTool('qemu-img', ['convert', '-f', 'raw', ...so, second, join(dir, 'web01-disk2.vmdk')]);
      ({ ova, ovf } = await buildOva(dir, 'web01', [
        { file: 'web01-disk1.vmdk', capacityBytes: SIZE },
        { file: 'web01-disk2.vmdk', capacityBytes: 32 * MiB },
      ]));
    });

    it('lists the disks, and refuses to guess which one is meant', async () => {
      expect(await listOvaDisks(ova)).toEqual([
        {
          index: 1,
          file: 'web01-disk1.vmdk',
          format: 'vmdk',
          subformat: 'streamOptimized',
          capacityBytes: SIZE,
        },
        {
          index: 2,
          file: 'web01-disk2.vmdk',
          format: 'vmdk',
          subformat: 'streamOptimized',
          capacityBytes: 32 * MiB,
        },
      ]);
      const err = await failure(open(ova));
      expect(err!.reason).toBe('unsupported');
      expect(err!.message).toContain('2 disks (1: web01-disk1.vmdk, 2: web01-disk2.vmdk)');
      expect((await failure(open(ova, 3)))!.reason).toBe('unsupported');
    });

    it('reads a member in place, by index or by name, without extracting it', async () => {
      const byIndex = await open(ova, 2);
      expect(byIndex.format).toBe('vmdk');
      expect(byIndex.image).toMatch(
        /^json:\{"driver":"vmdk","file":\{"driver":"raw","offset":\d+,"size":\d+/,
      );
      expect(byIndex.layers[0]).toMatch(
        /^ova member 2 of 2: web01-disk2\.vmdk at offset \d+ of web01\.ova \(vmdk streamOptimized, 32 MiB\)$/,
      );
      expect(await importsAs(byIndex, second, dir)).toBe(true);
      const byName = await open(ova, 'web01-disk1.vmdk');
      expect(byName.virtualSizeBytes).toBe(SIZE);
      expect(await importsAs(byName, raw, dir)).toBe(true);
      expect((await readdir(dir)).filter((f) => f.startsWith('out-'))).toEqual([]);
    });

    it('reads the disk an OVF beside its files names', async () => {
      const sub = join(dir, 'unpacked');
      await mkdir(sub);
      for (const f of ['web01.ovf', 'web01-disk2.vmdk']) await copyFile(join(dir, f), join(sub, f));
      const opened = await open(join(sub, 'web01.ovf'), 2);
      expect(opened.layers[0]).toBe('ovf web01.ovf: disk 2 of 2 is web01-disk2.vmdk');
      expect(opened.files).toEqual([join(sub, 'web01.ovf'), join(sub, 'web01-disk2.vmdk')]);
      expect(await importsAs(opened, second, dir)).toBe(true);
      expect((await failure(open(join(sub, 'web01.ovf'), 1)))!.reason).toBe('not-found');
      expect(ovf).toBe(join(dir, 'web01.ovf'));
    });
  });
});
