import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runV2vProcess } from './v2v-process';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor<T>(read: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('runV2vProcess', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-v2v-process-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands over whole lines of both streams, and appends them all to the log file', async () => {
    const lines: string[] = [];
    const logFile = join(dir, 'run.log');
    const end = await runV2vProcess({
      command: 'sh',
      args: ['-c', 'printf "[   0.0] Setting"; sleep 0.1; printf " up\\nno newline"; echo oops >&2; exit 3'],
      env: {},
      timeoutMs: 10_000,
      logFile,
      onLine: (stream, line) => lines.push(`${stream}:${line}`),
    });
    expect(end).toMatchObject({ code: 3, how: 'exited' });
    expect(lines).toEqual(
      expect.arrayContaining(['stdout:[   0.0] Setting up', 'stdout:no newline', 'stderr:oops']),
    );
    expect(lines).toHaveLength(3);
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('[   0.0] Setting up\nno newline');
    expect(log).toContain('oops');
  });

  it('kills the whole process group at the deadline, children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const run = runV2vProcess({
      command: 'sh',
      args: ['-c', `sleep 300 & echo $! > ${pidFile}; wait`],
      env: {},
      timeoutMs: 500,
      onLine: () => undefined,
    });
    const child = Number(await waitFor(async () => (await readFile(pidFile, 'utf8')).trim() || undefined));
    const end = await run;
    expect(end.how).toBe('timeout');
    await waitFor(async () => (alive(child) ? undefined : true));
  });

  it('kills it when aborted, and does not start one already aborted', async () => {
    const aborter = new AbortController();
    const run = runV2vProcess({
      command: 'sh',
      args: ['-c', 'echo started; sleep 300'],
      env: {},
      timeoutMs: 60_000,
      signal: aborter.signal,
      onLine: (_s, line) => line === 'started' && aborter.abort(),
    });
    expect((await run).how).toBe('aborted');
    const never = await runV2vProcess({
      command: 'sh',
      args: ['-c', 'exit 0'],
      env: {},
      timeoutMs: 1_000,
      signal: aborter.signal,
      onLine: () => undefined,
    });
    expect(never).toMatchObject({ how: 'aborted', code: null });
  });

  it('passes the environment, in the C locale', async () => {
    const lines: string[] = [];
    await runV2vProcess({
      command: 'sh',
      args: ['-c', 'echo "$LIBGUESTFS_BACKEND $LC_ALL"'],
      env: { LIBGUESTFS_BACKEND: 'direct' },
      timeoutMs: 10_000,
      onLine: (_s, line) => lines.push(line),
    });
    expect(lines).toEqual(['direct C']);
  });
});
