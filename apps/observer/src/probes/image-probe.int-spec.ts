import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageProbe } from './image-probe';

const MiB = 1024 * 1024;

/** Real qemu-img on real files. */
describe('ImageProbe', () => {
  const dir = mkdtempSync('/tmp/ferry-img-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const qcow2 = (name: string, size = '16M') => {
    const path = join(dir, name);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, size]);
    return path;
  };
  /** As if written a minute ago: out of the window where (size, mtime) may not show a change yet. */
  const age = (path: string) => {
    const then = new Date(Date.now() - 60_000);
    utimesSync(path, then, then);
  };

  it('tells format and virtual size, and runs qemu-img once for a file that did not change', async () => {
    const path = qcow2('a.qcow2');
    age(path);
    const probe = new ImageProbe();
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 16 * MiB });
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 16 * MiB });
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 16 * MiB });
    expect(probe.runs).toBe(1);
  });

  it('runs qemu-img again after the image is resized', async () => {
    const path = qcow2('b.qcow2');
    age(path);
    const probe = new ImageProbe();
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 16 * MiB });
    execFileSync('qemu-img', ['resize', '-q', '-f', 'qcow2', path, '48M']);
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 48 * MiB });
    expect(probe.runs).toBe(2);
  });

  it('runs qemu-img again for a file replaced by another of the same size and mtime (new inode)', async () => {
    const next = qcow2('c.next', '8M');
    const path = join(dir, 'c.img');
    writeFileSync(path, '');
    truncateSync(path, statSync(next).size);
    const then = new Date(Date.now() - 60_000);
    utimesSync(path, then, then);
    utimesSync(next, then, then);
    const probe = new ImageProbe();
    // QEMU counts a raw image in whole 512-byte sectors, rounding up.
    const sectors = Math.ceil(statSync(next).size / 512);
    expect(await probe.info(path)).toEqual({ format: 'raw', virtualSize: sectors * 512 });
    renameSync(next, path);
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 8 * MiB });
    expect(probe.runs).toBe(2);
    // qemu-img for the raw file; the qcow2 image from its header, in-process.
    expect(probe.qemuImgRuns).toBe(1);
  });

  it('reads a file changed just before qemu-img did again, as its (size, mtime) may lag', async () => {
    const path = qcow2('fresh.qcow2');
    const probe = new ImageProbe();
    await probe.info(path);
    await probe.info(path);
    expect(probe.runs).toBe(2);
    age(path); // settled: from now on one stat per call
    await probe.info(path);
    await probe.info(path);
    expect(probe.runs).toBe(3);
  });

  it('runs qemu-img once for calls that overlap', async () => {
    const path = qcow2('d.qcow2');
    age(path);
    const probe = new ImageProbe();
    const answers = await Promise.all([1, 2, 3, 4].map(() => probe.info(path)));
    expect(answers).toEqual(Array(4).fill({ format: 'qcow2', virtualSize: 16 * MiB }));
    expect(probe.runs).toBe(1);
  });

  it('answers null for a missing file, and drops a file that went away', async () => {
    const probe = new ImageProbe();
    expect(await probe.info(join(dir, 'nothing.qcow2'))).toBeNull();
    const path = qcow2('e.qcow2');
    await probe.info(path);
    expect(probe.cached).toBe(1);
    rmSync(path);
    expect(await probe.info(path)).toBeNull();
    expect(probe.cached).toBe(0);
  });

  it('rejects with qemu-img’s reason when it cannot read the path', async () => {
    await expect(new ImageProbe().info(dir)).rejects.toThrow(/qemu-img info .*ferry-img-/);
  });

  it('forgets a path, keeps only the paths it is told to retain, and drops what nobody asks about', async () => {
    const paths = ['f.qcow2', 'g.qcow2', 'h.qcow2'].map((name) => qcow2(name));
    paths.forEach(age);
    const probe = new ImageProbe();
    for (const path of paths) await probe.info(path);
    expect(probe.cached).toBe(3);
    probe.forget(paths[0]);
    expect(probe.cached).toBe(2);
    probe.retain(new Set([paths[0], paths[1]]));
    expect(probe.cached).toBe(1);
    await probe.info(paths[1]);
    expect(probe.runs).toBe(3); // still cached

    const idle = new ImageProbe({ idleMs: 200 });
    await idle.info(paths[1]);
    await idle.info(paths[2]);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 250));
      await idle.info(paths[1]); // asked about: stays
    }
    expect(idle.cached).toBe(1);
    expect(idle.runs).toBe(2);
  });
});
