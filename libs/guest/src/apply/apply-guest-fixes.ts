import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FileEditDto, FixOutcomeDto, GuestFixDto } from '@ferry/contracts';
import { checkGuestPath, gfQuote, pathStates } from '../files/guestfish-paths';
import type { PathState } from '../files/guestfish-paths';
import type { GuestfishRunner } from '../files/guestfish-paths';
import { contentSha256 } from '../plan/plan-input';

/** Words a `command` edit may pass: guestfish splits its list argument at spaces, so none may hold one. */
const COMMAND_WORD = /^[\w.+:=@/-]{1,256}$/;

type Verdict = { state: 'apply' | 'skip' } | { state: 'conflict'; why: string };

/** The state a path is in once an edit is done, for the next edit of the same path. */
type Simulated = Map<string, PathState>;

function describe(s: PathState): string {
  if (s.kind === null) return 'absent';
  return `${s.kind}${s.sha256 ? ` ${s.sha256.slice(0, 12)}…` : ''}`;
}

/** Compare-and-set: as planned → apply; as the edit leaves it → skip; anything else → conflict. */
function verdict(edit: FileEditDto, now: (path: string) => PathState): Verdict {
  const cur = now(edit.path);
  const before = edit.before_sha256;
  const conflict = (what: PathState, expected: string): Verdict => ({
    state: 'conflict',
    why: `${edit.path} changed since the plan: it is ${describe(what)}, the plan expected ${expected}`,
  });
  const planned = before === null ? 'it absent' : `${before.slice(0, 12)}…`;
  switch (edit.kind) {
    case 'write': {
      const after = contentSha256(edit.content ?? '');
      if (cur.kind === 'file' && cur.sha256 === after) return { state: 'skip' };
      if (before === null ? cur.kind === null : cur.kind === 'file' && cur.sha256 === before)
        return { state: 'apply' };
      return conflict(cur, `${planned} or the new text`);
    }
    case 'rename': {
      const target = now(edit.target!);
      if (cur.kind === null && target.kind !== null && target.sha256 === before) return { state: 'skip' };
      if (cur.kind !== null && cur.sha256 === before && target.kind === null) return { state: 'apply' };
      if (target.kind !== null && cur.kind !== null)
        return {
          state: 'conflict',
          why: `both ${edit.path} and ${edit.target} exist: the plan expected only ${edit.path}`,
        };
      return conflict(cur, planned);
    }
    case 'symlink':
      if (cur.kind === 'symlink' && cur.target === edit.target) return { state: 'skip' };
      if (before === null ? cur.kind === null : cur.sha256 === before && cur.kind !== 'directory')
        return { state: 'apply' };
      return conflict(cur, `${planned} or a symlink to ${edit.target}`);
    case 'remove':
      if (cur.kind === null) return { state: 'skip' };
      if (cur.sha256 === before) return { state: 'apply' };
      return conflict(cur, planned);
    case 'command':
      // Not compared: a package upgraded since the plan is removed all the same.
      return now(edit.unless_absent!).kind === null ? { state: 'skip' } : { state: 'apply' };
    default: {
      const never: never = edit.kind;
      throw new Error(`unknown edit kind ${String(never)}`);
    }
  }
}

/** What a path is after an edit, for edits after it in the same plan. */
function afterEdit(edit: FileEditDto, now: (p: string) => PathState, sim: Simulated): void {
  switch (edit.kind) {
    case 'write':
      sim.set(edit.path, { kind: 'file', sha256: contentSha256(edit.content ?? '') });
      break;
    case 'rename':
      sim.set(edit.target!, now(edit.path));
      sim.set(edit.path, { kind: null, sha256: null });
      break;
    case 'symlink':
      sim.set(edit.path, { kind: 'symlink', sha256: null, target: edit.target });
      break;
    case 'remove':
      sim.set(edit.path, { kind: null, sha256: null });
      break;
    case 'command':
      sim.set(edit.unless_absent!, { kind: null, sha256: null });
      break;
    default: {
      const never: never = edit.kind;
      throw new Error(`unknown edit kind ${String(never)}`);
    }
  }
}

function pathsOf(edit: FileEditDto): string[] {
  const paths = [edit.path];
  if (edit.kind === 'rename' || edit.kind === 'symlink') paths.push(edit.target ?? '');
  if (edit.kind === 'command') paths.push(edit.unless_absent ?? '');
  return paths.map(checkGuestPath);
}

function outcome(
  fix: string,
  edit: FileEditDto,
  result: FixOutcomeDto['outcome'],
  detail: string,
): FixOutcomeDto {
  return { fix, kind: edit.kind, path: edit.path, outcome: result, detail };
}

/**
 * Applies planned fixes in a read-write guestfish session whose guest is mounted read-write
 * (mountGuest): every edit a compare-and-set against what the plan saw. First every edit is checked
 * against the disk (and against the edits before it); one conflict (the disk changed since the plan)
 * and nothing is written: each edit fails, the conflicting ones saying why. Then the edits run in
 * order: a skipped one was already applied; a failure stops the rest. A `command` runs only while
 * its `unless_absent` path exists, and must leave it gone. Returns one outcome per edit, in order.
 */
export async function applyGuestFixes(
  session: GuestfishRunner,
  fixes: readonly GuestFixDto[],
): Promise<FixOutcomeDto[]> {
  const edits = fixes.flatMap((f) => f.edits.map((edit) => ({ fix: f.name, edit })));
  for (const { edit } of edits) {
    if (edit.kind === 'command' && !(edit.command?.length && edit.command.every((w) => COMMAND_WORD.test(w))))
      throw new Error(`command edit of ${edit.path}: its words must be plain (no spaces or quotes)`);
    if ((edit.kind === 'rename' || edit.kind === 'symlink') && !edit.target)
      throw new Error(`${edit.kind} edit of ${edit.path} has no target`);
    if (edit.kind === 'command' && !edit.unless_absent)
      throw new Error(`command edit of ${edit.path} has no unless_absent`);
  }
  const paths = [...new Set(edits.flatMap(({ edit }) => pathsOf(edit)))];
  const states = new Map(paths.map((p, i) => [p, i] as const));
  const read = await pathStates(session, paths);
  const sim: Simulated = new Map();
  const now = (p: string) => sim.get(p) ?? read[states.get(p)!]!;

  const verdicts = edits.map(({ edit }) => {
    const v = verdict(edit, now);
    if (v.state === 'apply') afterEdit(edit, now, sim);
    return v;
  });
  const conflicts = verdicts.flatMap((v) => (v.state === 'conflict' ? [v.why] : []));
  if (conflicts.length) {
    return edits.map(({ fix, edit }, i) => {
      const v = verdicts[i]!;
      return outcome(
        fix,
        edit,
        'failed',
        v.state === 'conflict' ? `conflict: ${v.why}; nothing was written` : `not applied: ${conflicts[0]}`,
      );
    });
  }

  const dir = await mkdtemp(join(tmpdir(), 'ferry-guest-fix-'));
  try {
    const outcomes: FixOutcomeDto[] = [];
    let failed: string | null = null;
    for (const [i, { fix, edit }] of edits.entries()) {
      if (failed) {
        outcomes.push(outcome(fix, edit, 'failed', `not attempted: ${failed}`));
        continue;
      }
      if (verdicts[i]!.state === 'skip') {
        outcomes.push(outcome(fix, edit, 'skipped', 'already applied'));
        continue;
      }
      const error = await applyEdit(session, edit, join(dir, String(i)));
      if (error) failed = `${edit.kind} ${edit.path} failed: ${error}`;
      outcomes.push(
        outcome(fix, edit, error ? 'failed' : 'applied', error ?? edit.diff.split('\n')[0]!.slice(0, 200)),
      );
    }
    await session.run(['sync']);
    return outcomes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One edit, then a check that it left what it should; the error, or null. */
async function applyEdit(session: GuestfishRunner, edit: FileEditDto, local: string): Promise<string | null> {
  const path = gfQuote(edit.path);
  const commands: string[] = [];
  switch (edit.kind) {
    case 'write':
      await writeFile(local, edit.content ?? '', { mode: 0o600 });
      commands.push(`mkdir-p ${gfQuote(dirname(edit.path))}`, `upload ${gfQuote(local)} ${path}`);
      break;
    case 'rename':
      commands.push(`rename ${path} ${gfQuote(edit.target!)}`);
      break;
    case 'symlink':
      commands.push(`mkdir-p ${gfQuote(dirname(edit.path))}`, `ln-sf ${gfQuote(edit.target!)} ${path}`);
      break;
    case 'remove':
      commands.push(`rm-rf ${path}`);
      break;
    case 'command':
      commands.push(`command ${gfQuote(edit.command!.join(' '))}`);
      break;
    default: {
      const never: never = edit.kind;
      throw new Error(`unknown edit kind ${String(never)}`);
    }
  }
  const results = await session.run(commands);
  const errors = results.flatMap((r) => r.errors);
  if (errors.length) return errors.join('; ');
  if (edit.kind === 'rename') {
    const [source, target] = await pathStates(session, [edit.path, edit.target!]);
    return source!.kind === null && target!.kind !== null
      ? null
      : `${edit.target} is not there after the rename`;
  }
  const check = edit.kind === 'command' ? edit.unless_absent! : edit.path;
  const [state] = await pathStates(session, [check]);
  if (edit.kind === 'command')
    return state!.kind === null ? null : `the command ran, but ${check} is still there`;
  return verdict(edit, () => state!).state === 'skip'
    ? null
    : `${edit.path} is not as the edit leaves it afterwards (${describe(state!)})`;
}
