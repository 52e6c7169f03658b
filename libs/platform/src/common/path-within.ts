import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

/**
 * The real path of `path` (symlinks followed, `..` resolved) when it lies inside one of `dirs`
 * (resolved too; a directory that does not exist counts for nothing), else undefined. A file that
 * does not exist yet is judged by its directory's real path, as one created there would be; a
 * dangling symlink is not (its target could appear anywhere). Anything else that cannot be resolved
 * (a missing directory, a loop, no permission) is undefined, so a caller that refuses on undefined
 * says nothing about what exists outside `dirs`. The directories themselves are not inside.
 */
export async function realPathWithin(path: string, dirs: readonly string[]): Promise<string | undefined> {
  if (!isAbsolute(path) || path.includes('\0')) return undefined;
  const real = await resolved(path);
  if (real === undefined) return undefined;
  for (const dir of dirs) {
    const root = await realpath(dir).catch(() => undefined);
    if (root !== undefined && isInside(root, real)) return real;
  }
  return undefined;
}

async function resolved(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  const entry = await lstat(path).catch(() => undefined);
  if (entry) return undefined; // a dangling symlink
  const parent = await realpath(dirname(path)).catch(() => undefined);
  return parent === undefined ? undefined : join(parent, basename(path));
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
