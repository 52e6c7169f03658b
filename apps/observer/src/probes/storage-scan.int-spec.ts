import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { listImageFiles, quarantineFile } from './storage-scan';

describe('storage scan', () => {
  const root = mkdtempSync('/tmp/ferry-store-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists the regular files directly in the directory, and nothing else', async () => {
    const dir = join(root, 'list');
    mkdirSync(join(dir, 'quarantine'), { recursive: true });
    mkdirSync(join(dir, 'sub'));
    for (const name of ['b.raw', 'a.qcow2', '.a.qcow2.tmp', 'quarantine/x.qcow2', 'sub/y.qcow2'])
      writeFileSync(join(dir, name), 'x');
    symlinkSync(join(dir, 'a.qcow2'), join(dir, 'link.qcow2'));
    expect(await listImageFiles(dir)).toEqual([join(dir, 'a.qcow2'), join(dir, 'b.raw')]);
  });

  it('lists nothing when the directory does not exist', async () => {
    expect(await listImageFiles(join(root, 'missing'))).toEqual([]);
  });

  it('moves a file into quarantine (made 0700) under a timestamped name, without copying or deleting it', async () => {
    const dir = join(root, 'q1');
    mkdirSync(dir);
    const path = join(dir, 'orphan.qcow2');
    writeFileSync(path, 'disk bytes');
    const inode = statSync(path).ino;
    const quarantine = join(dir, 'quarantine');

    const moved = await quarantineFile(path, quarantine, new Date('2024-05-01T12:00:00.123Z'));
    expect(moved).toBe(join(quarantine, 'orphan.qcow2.2024-05-01T120000.123Z'));
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(moved, 'utf8')).toBe('disk bytes');
    expect(statSync(moved).ino).toBe(inode);
    expect(statSync(quarantine).mode & 0o777).toBe(0o700);
    expect(await listImageFiles(dir)).toEqual([]);
  });

  it('refuses to overwrite a file already in quarantine, and to move what is not a regular file', async () => {
    const dir = join(root, 'q2');
    const quarantine = join(dir, 'quarantine');
    mkdirSync(quarantine, { recursive: true });
    const path = join(dir, 'twice.qcow2');
    writeFileSync(path, 'new');
    const when = new Date('2024-05-01T12:00:00.000Z');
    const target = join(quarantine, 'twice.qcow2.2024-05-01T120000.000Z');
    writeFileSync(target, 'old');

    await expect(quarantineFile(path, quarantine, when)).rejects.toThrow(/already exists/);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readFileSync(target, 'utf8')).toBe('old');

    mkdirSync(join(dir, 'a-dir'));
    await expect(quarantineFile(join(dir, 'a-dir'), quarantine)).rejects.toThrow(/not a regular file/);
    await expect(quarantineFile(join(dir, 'missing'), quarantine)).rejects.toThrow(/ENOENT/);
    expect(readdirSync(quarantine)).toEqual(['twice.qcow2.2024-05-01T120000.000Z']);
  });
});
