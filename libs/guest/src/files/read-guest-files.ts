import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestFileDto } from '@ferry/contracts';
import type { GuestFixFileSpec } from './guest-fix-files';
import type { GuestfishRunner } from './guestfish-paths';
import { GUEST_FIX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES } from './guest-fix-files';
import {
  checkGuestPath,
  directoryDigest,
  gfQuote,
  parseLstat,
  parseReadlink,
  sha256Hex,
} from './guestfish-paths';

export interface ReadGuestFilesOptions {
  /** What to read (default GUEST_FIX_FILES). */
  spec?: GuestFixFileSpec;
  /** Per file, in bytes (default 256 KiB). */
  maxFileBytes?: number;
  /** Of every file's text together, in bytes (default 512 KiB). */
  maxTotalBytes?: number;
}

interface Entry {
  path: string;
  probe: boolean;
  keep?: (text: string) => boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text, or null for bytes that are not (a NUL, or not UTF-8): such a file is never edited. */
function decode(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Reads what the fix planner needs (GUEST_FIX_FILES) from a guest whose root and mountpoints are
 * mounted in `session`, in a few guestfish round trips: the globs expanded, every path `lstat`ed (not
 * followed), then each regular file downloaded into a private temporary directory (exact bytes: a
 * text answer of guestfish would add a newline), directories listed, symlinks read.
 *
 * Bounded: a file beyond `maxFileBytes` keeps its beginning (`truncated`), and once the set's text
 * reaches `maxTotalBytes` the files after it are recorded with their SHA-256 only (`truncated`,
 * `content` null): the planner never edits either. Absent `files` are recorded (content and sha256
 * null), absent glob matches and probes are not.
 */
export async function readGuestFiles(
  session: GuestfishRunner,
  options: ReadGuestFilesOptions = {},
): Promise<GuestFileDto[]> {
  const spec = options.spec ?? GUEST_FIX_FILES;
  const maxFile = options.maxFileBytes ?? MAX_FILE_BYTES;
  let budget = options.maxTotalBytes ?? MAX_TOTAL_BYTES;

  const globbed = [...spec.globs.map((g) => g.pattern), ...spec.probes.filter((p) => p.includes('*'))];
  const expanded = await session.run(globbed.map((g) => `glob-expand ${gfQuote(g)}`));
  const matches = new Map(
    globbed.map((g, i) => [
      g,
      (expanded[i]?.errors.length ? '' : (expanded[i]?.out ?? ''))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (l.length > 1 ? l.replace(/\/+$/, '') : l))
        .sort(),
    ]),
  );
  const entries: Entry[] = [];
  const seen = new Set<string>();
  const add = (entry: Entry) => {
    if (seen.has(entry.path)) return;
    seen.add(entry.path);
    entries.push({ ...entry, path: checkGuestPath(entry.path) });
  };
  for (const path of spec.files) add({ path, probe: false });
  for (const g of spec.globs)
    for (const path of matches.get(g.pattern) ?? []) add({ path, probe: false, keep: g.keep });
  for (const p of spec.probes)
    for (const path of p.includes('*') ? (matches.get(p) ?? []) : [p]) add({ path, probe: true });

  const stats = (await session.run(entries.map((e) => `lstatns ${gfQuote(e.path)}`))).map(parseLstat);
  const dir = await mkdtemp(join(tmpdir(), 'ferry-guest-files-'));
  try {
    const commands: string[] = [];
    const plans: { index: number; action: 'download' | 'head' | 'checksum' | 'find' | 'readlink' }[] = [];
    const push = (index: number, action: (typeof plans)[number]['action'], command: string) => {
      plans.push({ index, action });
      commands.push(command);
    };
    entries.forEach((entry, index) => {
      const stat = stats[index];
      const path = gfQuote(entry.path);
      const local = gfQuote(join(dir, String(index)));
      if (!stat || stat.kind === 'other') return;
      if (stat.kind === 'directory') return push(index, 'find', `find ${path}`);
      if (stat.kind === 'symlink') return push(index, 'readlink', `readlink ${path}`);
      if (entry.probe) return push(index, 'checksum', `checksum sha256 ${path}`);
      // The budget is reserved here, in priority order, before anything is read.
      const take = Math.min(stat.size, maxFile, Math.max(budget, 0));
      budget -= take;
      if (take === stat.size) return push(index, 'download', `download ${path} ${local}`);
      push(index, 'checksum', `checksum sha256 ${path}`);
      if (take > 0) push(index, 'head', `download-offset ${path} ${local} 0 ${take}`);
    });
    const answers = await session.run(commands);

    const files = new Map<number, GuestFileDto>();
    for (const [k, { index, action }] of plans.entries()) {
      const entry = entries[index]!;
      const answer = answers[k]!;
      if (answer.errors.length) throw new Error(`cannot read ${entry.path}: ${answer.errors.join('; ')}`);
      const file = files.get(index) ?? { path: entry.path, content: null, sha256: null };
      files.set(index, file);
      switch (action) {
        case 'find':
          Object.assign(file, { kind: 'directory', sha256: directoryDigest(answer.out) });
          break;
        case 'readlink': {
          const target = parseReadlink(answer.out);
          Object.assign(file, { kind: 'symlink', content: target, sha256: sha256Hex(target) });
          break;
        }
        case 'checksum':
          Object.assign(file, { kind: 'file', sha256: answer.out.trim() });
          if (!entry.probe) file.truncated = true;
          break;
        case 'download': {
          const bytes = await readFile(join(dir, String(index)));
          Object.assign(file, { kind: 'file', content: decode(bytes), sha256: sha256Hex(bytes) });
          break;
        }
        case 'head':
          file.content = decode(await readFile(join(dir, String(index))));
          break;
        default: {
          const never: never = action;
          throw new Error(`unknown action ${String(never)}`);
        }
      }
    }
    return entries.flatMap((entry, index) => {
      const file = files.get(index);
      if (!file) return entry.probe || entry.keep ? [] : [{ path: entry.path, content: null, sha256: null }];
      // A glob's match it does not want (a udev rule that names no MAC) is left out, budget and all.
      if (entry.keep && file.kind === 'file' && !(file.content !== null && entry.keep(file.content)))
        return [];
      return [file];
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
