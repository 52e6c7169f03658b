import { createHash } from 'node:crypto';
import type { GuestPathKind } from '@ferry/contracts';
import type { GuestfishResult, GuestfishSession } from '@ferry/qemu';

/** What the guest functions use of a guestfish session (a unit spec gives an in-memory one). */
export type GuestfishRunner = Pick<GuestfishSession, 'run'>;

/** A guest path a command may carry: absolute, printable, no `..`. */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const GUEST_PATH = /^(?!.*(?:^|\/)\.\.(?:\/|$))\/[^\0-\x1f\x7f]{0,1023}$/;

/**
 * A guestfish argument in double quotes: guestfish reads C-style escapes there (`\"`, `\\`), so a
 * path with spaces or quotes (`Wired connection 1.nmconnection`) is one argument. Control characters
 * have no safe spelling and are refused.
 */
export function gfQuote(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  if (/[\0-\x1f\x7f]/.test(value)) throw new Error(`cannot pass ${JSON.stringify(value)} to guestfish`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Refuses a path a guest file entry may not have (the planner's and applier's one check). */
export function checkGuestPath(path: string): string {
  if (!GUEST_PATH.test(path)) throw new Error(`not a guest path: ${JSON.stringify(path)}`);
  return path;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What `lstatns` says of a path: its kind and size, or null when it is absent. */
export interface PathStat {
  kind: GuestPathKind | 'other';
  size: number;
}

const S_IFMT = 0o170000;

/** Parses `lstatns` (or null after its error: the path is absent or unreadable). */
export function parseLstat(result: GuestfishResult | undefined): PathStat | null {
  if (!result || result.errors.length) return null;
  const fields = new Map(
    result.out
      .split('\n')
      .map((l) => l.split(': '))
      .filter((p): p is [string, string] => p.length === 2),
  );
  const mode = Number(fields.get('st_mode'));
  const size = Number(fields.get('st_size'));
  if (!Number.isFinite(mode)) return null;
  const type = mode & S_IFMT;
  const kind =
    type === 0o100000 ? 'file' : type === 0o040000 ? 'directory' : type === 0o120000 ? 'symlink' : 'other';
  return { kind, size: Number.isFinite(size) ? size : 0 };
}

/** A directory's fingerprint: the sorted names `find` prints under it. */
export function directoryDigest(findOut: string): string {
  const names = findOut
    .split('\n')
    .filter((l) => l !== '')
    .sort();
  return sha256Hex(names.join('\n'));
}

/** `readlink`'s answer without guestfish's newline. */
export function parseReadlink(out: string): string {
  return out.replace(/\n$/, '');
}

/** A path's state as compare-and-set sees it: absent, or its kind and GuestFileDto-style sha256. */
export interface PathState {
  kind: GuestPathKind | 'other' | null;
  sha256: string | null;
  /** A symlink's target. */
  target?: string;
}

/**
 * The state of each path, the way readGuestFiles fingerprints it (file: SHA-256 of its bytes,
 * computed in the appliance; directory: of its `find` listing; symlink: of its target), in two
 * guestfish round trips whatever the number of paths.
 */
export async function pathStates(session: GuestfishRunner, paths: string[]): Promise<PathState[]> {
  if (paths.length === 0) return [];
  const stats = (await session.run(paths.map((p) => `lstatns ${gfQuote(checkGuestPath(p))}`))).map(
    parseLstat,
  );
  const commands: string[] = [];
  const which: number[] = [];
  stats.forEach((stat, i) => {
    const quoted = gfQuote(paths[i]!);
    if (stat?.kind === 'file') commands.push(`checksum sha256 ${quoted}`);
    else if (stat?.kind === 'directory') commands.push(`find ${quoted}`);
    else if (stat?.kind === 'symlink') commands.push(`readlink ${quoted}`);
    else return;
    which.push(i);
  });
  const answers = await session.run(commands);
  const states: PathState[] = stats.map((s) => ({ kind: s ? s.kind : null, sha256: null }));
  which.forEach((i, k) => {
    const answer = answers[k]!;
    const state = states[i]!;
    if (answer.errors.length) throw new Error(`cannot read ${paths[i]}: ${answer.errors.join('; ')}`);
    if (state.kind === 'file') state.sha256 = answer.out.trim();
    else if (state.kind === 'directory') state.sha256 = directoryDigest(answer.out);
    else {
      state.target = parseReadlink(answer.out);
      state.sha256 = sha256Hex(state.target);
    }
  });
  return states;
}
