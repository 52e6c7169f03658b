import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  openSync,
  rmSync,
  truncateSync,
  writeSync,
  closeSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError } from '@ferry/platform';
import { compareImages, convertImage } from './qemu-img';

/** The real qemu-img (Debian's qemu-utils, as tools/ensure-infra.sh installs it) on images made here. */
describe('qemu-img convert and compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-qemu-img-'));
  const options = { qemuImg: 'qemu-img', timeoutMs: 60_000 };
  const raw = join(dir, 'disk.raw');
  const MiB = 1024 * 1024;

  beforeAll(() => {
    // 32 MiB, mostly a hole, with data at the start, the middle and the last sector.
    writeFileSync(raw, '');
    truncateSync(raw, 32 * MiB);
    const fd = openSync(raw, 'r+');
    for (const at of [0, 13 * MiB + 7, 32 * MiB - 512])
      writeSync(fd, Buffer.from(`ferry data at ${at}`), 0, undefined, at);
    closeSync(fd);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('converts raw to qcow2 with rising progress, and the result compares identical', async () => {
    const progress: number[] = [];
    const qcow2 = join(dir, 'disk.qcow2');
    await convertImage(
      raw,
      qcow2,
      { sourceFormat: 'raw', format: 'qcow2', onProgress: (p) => progress.push(p) },
      options,
    );
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
    expect(
      await compareImages({ path: raw, format: 'raw' }, { path: qcow2, format: 'qcow2' }, options),
    ).toEqual({
      identical: true,
    });
  });

  it('flattens an ESXi-style VMDK (descriptor plus -flat extent) into one qcow2', async () => {
    const vmdk = join(dir, 'web01.vmdk');
    execFileSync('qemu-img', [
      'convert',
      '-f',
      'raw',
      '-O',
      'vmdk',
      '-o',
      'subformat=monolithicFlat',
      raw,
      vmdk,
    ]);
    expect(readFileSync(vmdk, 'utf8')).toContain('web01-flat.vmdk');
    const out = join(dir, 'web01.qcow2');
    await convertImage(vmdk, out, { sourceFormat: 'vmdk', format: 'qcow2' }, options);
    expect(
      await compareImages({ path: raw, format: 'raw' }, { path: out, format: 'qcow2' }, options),
    ).toEqual({
      identical: true,
    });
  });

  it('reports where two images first differ, and that a longer one differs', async () => {
    const changed = join(dir, 'changed.raw');
    execFileSync('cp', ['--sparse=always', raw, changed]);
    const fd = openSync(changed, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, 20 * MiB + 100);
    closeSync(fd);
    const result = await compareImages(
      { path: raw, format: 'raw' },
      { path: changed, format: 'raw' },
      options,
    );
    expect(result.identical).toBe(false);
    const at = (result as { firstDifferenceAt: number | null }).firstDifferenceAt;
    expect(at).not.toBeNull();
    expect(at!).toBeLessThanOrEqual(20 * MiB + 100);
    expect(at!).toBeGreaterThan(20 * MiB + 100 - 512);

    const longer = join(dir, 'longer.raw');
    execFileSync('cp', ['--sparse=always', raw, longer]);
    truncateSync(longer, 33 * MiB);
    expect(
      (await compareImages({ path: raw, format: 'raw' }, { path: longer, format: 'raw' }, options)).identical,
    ).toBe(false);
  });

  it('fails a truncated VMDK with qemu-img reason, leaving no answer half-true', async () => {
    const vmdk = join(dir, 'broken.vmdk');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', raw, vmdk]);
    truncateSync(vmdk, 4096);
    const err = await convertImage(
      vmdk,
      join(dir, 'broken.qcow2'),
      { sourceFormat: 'vmdk', format: 'qcow2' },
      options,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).kind).toBe('failed');
    expect((err as CommandError).lines.join(' ')).toMatch(/qemu-img: /);
  });

  it('rejects a compare that cannot run rather than calling the images different', async () => {
    await expect(
      compareImages({ path: join(dir, 'missing.raw'), format: 'raw' }, { path: raw, format: 'raw' }, options),
    ).rejects.toBeInstanceOf(CommandError);
  });
});
