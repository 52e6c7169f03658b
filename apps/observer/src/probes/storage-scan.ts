import { lstat, mkdir, readdir, rename } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

/**
 * Absolute paths of the regular files directly in `dir` (the volume storage directory), sorted;
 * dot-files, subdirectories (`quarantine` among them) and symlinks are left out. Empty when `dir`
 * does not exist.
 */
export async function listImageFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  try {
    const entries = await readdir(root, { withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.') && e.name !== 'quarantine')
      .map((e) => join(root, e.name))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Moves a file aside (never deletes it): `rename` into `quarantineDir` (made with mode 0700 if
 * missing) as `<basename>.<ISO time without colons>`, e.g. `x.qcow2.2024-05-01T120000.123Z`.
 * Refuses when the target exists, when `path` is not a regular file, and when `quarantineDir` is on
 * another file system (rename gives EXDEV; this never falls back to copy and delete). Returns the
 * new path. `now` stamps the name.
 */
export async function quarantineFile(path: string, quarantineDir: string, now = new Date()): Promise<string> {
  const source = await lstat(path);
  if (!source.isFile()) throw new Error(`will not quarantine ${path}: not a regular file`);
  await mkdir(quarantineDir, { recursive: true, mode: 0o700 });
  const stamp = now.toISOString().replace(/:/g, '');
  const target = join(resolve(quarantineDir), `${basename(path)}.${stamp}`);
  const taken = await lstat(target).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
  if (taken) throw new Error(`will not quarantine ${path}: ${target} already exists`);
  await rename(path, target);
  return target;
}
