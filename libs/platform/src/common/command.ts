import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A command that failed: it could not be started (`spawn`), ran past its limit (`timeout`), was
 * aborted through its signal (`aborted`), or exited non-zero (`failed`, with its stderr lines). The
 * message is the command and its first stderr line.
 */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly kind: 'failed' | 'timeout' | 'spawn' | 'aborted',
    readonly lines: string[],
    /** For `failed`: the exit status, and what it wrote to stdout (some tools answer there). */
    readonly exitCode: number | null = null,
    readonly stdout = '',
  ) {
    super(`${command}: ${lines[0] ?? kind}`);
    this.name = 'CommandError';
  }
}

/** What to tell about a failed command: its stderr (or why it did not run), else the error's message. */
export function commandReason(err: unknown): string {
  if (err instanceof CommandError) return err.lines.join('\n');
  return err instanceof Error ? err.message : String(err);
}

export interface RunCommandOptions {
  /** Kills the command (SIGKILL) when aborted; the promise rejects with kind `aborted`. */
  signal?: AbortSignal;
  /** Added to the environment (which always gets `LC_ALL=C`). */
  env?: Record<string, string>;
  /** Sees stdout as it comes (progress lines), besides the whole of it at the end. */
  onStdout?: (chunk: string) => void;
  /**
   * The kernel kills the command (SIGKILL) if this process dies, even by `kill -9`, through
   * util-linux's `setpriv --pdeathsig` (where it exists). For long work a crash must not leave
   * running: a convert still writing a file that a resumed operation writes again.
   */
  dieWithParent?: boolean;
}

const SETPRIV = '/usr/bin/setpriv';
let setprivPresent: boolean | undefined;

/**
 * Runs a command with a timeout (SIGKILL), in the C locale; resolves stdout, rejects with a
 * CommandError. stdin gets `input`, or is closed (so an ssh transport never waits for a password).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  input?: string,
  options: RunCommandOptions = {},
): Promise<string> {
  const command = [file, ...args].join(' ');
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(new CommandError(command, 'aborted', ['aborted']));
  setprivPresent ??= existsSync(SETPRIV);
  const [bin, argv] =
    options.dieWithParent && setprivPresent
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args]]
      : [file, args];
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      argv,
      {
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
        killSignal: 'SIGKILL',
        env: { ...process.env, ...options.env, LC_ALL: 'C' },
        signal,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        // Checked first: an abort also reports `killed` and a string `code` (ABORT_ERR).
        if (signal?.aborted) return reject(new CommandError(command, 'aborted', ['aborted']));
        if ((err as { killed?: boolean }).killed) {
          return reject(new CommandError(command, 'timeout', [`timed out after ${timeoutMs} ms`]));
        }
        if (typeof (err as { code?: unknown }).code === 'string') {
          return reject(new CommandError(command, 'spawn', [err.message]));
        }
        const lines = stderr
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l !== '');
        const code = (err as { code?: unknown }).code;
        reject(
          new CommandError(
            command,
            'failed',
            lines.length ? lines : [err.message],
            typeof code === 'number' ? code : null,
            stdout,
          ),
        );
      },
    );
    if (options.onStdout)
      child.stdout?.on('data', (chunk: Buffer | string) => options.onStdout!(chunk.toString()));
    // A command that exits without reading its input would fail the write with EPIPE, an 'error'
    // event that crashes the process when unhandled; the exit itself is reported above.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}
