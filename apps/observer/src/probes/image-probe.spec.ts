import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageInfo, QemuImg } from '@ferry/qemu';
import { CommandError } from '@ferry/platform';
import { ImageProbe } from './image-probe';

/** A qemu-img that answers from `answer` and counts its runs. */
function stubImg(answer: (path: string) => Promise<ImageInfo>): QemuImg & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    info: (path) => {
      paths.push(path);
      return answer(path);
    },
    create: () => Promise.reject(new Error('not used')),
    commit: () => Promise.reject(new Error('not used')),
    convert: () => Promise.reject(new Error('not used')),
    compare: () => Promise.reject(new Error('not used')),
    measure: () => Promise.reject(new Error('not used')),
  };
}

const qcow2 = (virtualSizeBytes: number): ImageInfo => ({
  format: 'qcow2',
  virtualSizeBytes,
  actualSizeBytes: null,
  backingChain: [],
});

describe('ImageProbe (qemu-img stubbed)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ferry-img-unit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs qemu-img once for an unchanged file and again after it changes', async () => {
    const path = join(dir, 'disk.qcow2');
    writeFileSync(path, 'x');
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const img = stubImg(() => Promise.resolve(qcow2(1024)));
    const probe = new ImageProbe({ img });
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 1024 });
    expect(await probe.info(path)).toEqual({ format: 'qcow2', virtualSize: 1024 });
    expect(img.paths).toEqual([path]);
    writeFileSync(path, 'xy');
    utimesSync(path, old, new Date(Date.now() - 30_000));
    await probe.info(path);
    expect(probe.runs).toBe(2);
  });

  it("is null for a missing file, and names qemu-img's reason, not its command line", async () => {
    const missing = stubImg(() => Promise.reject(new Error('unreachable')));
    expect(await new ImageProbe({ img: missing }).info(join(dir, 'none'))).toBeNull();
    expect(missing.paths).toEqual([]);

    const path = join(dir, 'bad.qcow2');
    writeFileSync(path, 'x');
    const failing = stubImg((p) =>
      Promise.reject(new CommandError(`qemu-img info ${p}`, 'failed', ['Image is not in qcow2 format'])),
    );
    await expect(new ImageProbe({ img: failing }).info(path)).rejects.toThrow(
      `qemu-img info ${path}: Image is not in qcow2 format`,
    );
  });
});
