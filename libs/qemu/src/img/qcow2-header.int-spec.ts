import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readQcow2Size } from './qcow2-header';

/** The header reader against what the real qemu-img makes and says. */
describe('readQcow2Size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-qcow2-header-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const qemuImgSize = (path: string): number =>
    (
      JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as {
        'virtual-size': number;
      }
    )['virtual-size'];

  it.each([
    ['a v3 image', ['-o', 'compat=1.1'], '3G'],
    ['a v2 image', ['-o', 'compat=0.10'], '1000M'],
    ['an odd size', [], '1234567'],
    ['an image past 4 GiB', [], '5T'],
  ])('reads the virtual size qemu-img reports, of %s', async (_, options, size) => {
    const path = join(dir, `${size}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', ...options, path, size]);
    expect(await readQcow2Size(path)).toBe(qemuImgSize(path));
  });

  it('reads an overlay’s own size, not its backing file’s', async () => {
    const base = join(dir, 'base.qcow2');
    const overlay = join(dir, 'overlay.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1G']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay, '2G']);
    expect(await readQcow2Size(overlay)).toBe(2 * 1024 ** 3);
  });

  it('is null for what is not a qcow2 image, so that qemu-img is asked instead', async () => {
    const raw = join(dir, 'disk.raw');
    writeFileSync(raw, '');
    truncateSync(raw, 1024 * 1024);
    const short = join(dir, 'short');
    writeFileSync(short, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
    const vmdk = join(dir, 'disk.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', vmdk, '16M']);
    for (const path of [raw, short, vmdk, dir, join(dir, 'missing')])
      expect(await readQcow2Size(path)).toBeNull();
  });
});
