import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createWriteStream } from 'node:fs';

export interface V2vProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Each complete line of stdout (messages, progress) and of stderr (the verbose log, errors). */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Both streams, as they come, appended here. */
  logFile?: string;
}

export interface V2vProcessEnd {
  code: number | null;
  how: 'exited' | 'timeout' | 'aborted' | 'spawn';
  /** For `spawn`: why it could not start. */
  spawnError?: string;
  elapsedMs: number;
}

const SETPRIV = '/usr/bin/setpriv';
/** A line longer than this is cut: `-x` traces whole files written into the guest on one line. */
const MAX_LINE = 64 * 1024;

/**
 * Runs one virt-v2v program to its end, line by line. It gets its own process group, and the
 * deadline or the abort kills the whole group (SIGKILL): virt-v2v's nbdkit and the appliance's QEMU
 * too, which otherwise end only when they notice their parent is gone. With `setpriv --pdeathsig`
 * virt-v2v itself dies with this process (a crash must not leave a conversion writing the disk).
 * Never rejects: the caller reads `how` and the lines it was given.
 */
export function runV2vProcess(spec: V2vProcessSpec): Promise<V2vProcessEnd> {
  const started = Date.now();
  if (spec.signal?.aborted) return Promise.resolve({ code: null, how: 'aborted', elapsedMs: 0 });
  const [bin, argv] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]]
    : [spec.command, spec.args];
  return new Promise((resolve) => {
    const log: WriteStream | undefined = spec.logFile
      ? createWriteStream(spec.logFile, { flags: 'a', mode: 0o600 })
      : undefined;
    log?.on('error', () => undefined);
    const child = spawn(bin, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env, LC_ALL: 'C' },
      detached: true,
    });
    let how: V2vProcessEnd['how'] = 'exited';
    let spawnError: string | undefined;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      how = 'timeout';
      killGroup();
    }, spec.timeoutMs);
    const onAbort = () => {
      how = 'aborted';
      killGroup();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    const lineReader = (stream: 'stdout' | 'stderr') => {
      let rest = '';
      return {
        push(chunk: string) {
          log?.write(chunk);
          rest += chunk;
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            spec.onLine(stream, rest.slice(0, Math.min(nl, MAX_LINE)));
            rest = rest.slice(nl + 1);
          }
          if (rest.length > MAX_LINE) rest = rest.slice(0, MAX_LINE);
        },
        end() {
          if (rest !== '') spec.onLine(stream, rest);
          rest = '';
        },
      };
    };
    const out = lineReader('stdout');
    const err = lineReader('stderr');
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c: string) => out.push(c));
    child.stderr.on('data', (c: string) => err.push(c));
    child.once('error', (e) => {
      how = 'spawn';
      spawnError = e.message;
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      const end = { code, how, spawnError, elapsedMs: Date.now() - started };
      if (log) log.end(() => resolve(end));
      else resolve(end);
    });
  });
}
