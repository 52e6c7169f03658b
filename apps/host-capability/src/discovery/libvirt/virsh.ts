import { execFile } from 'node:child_process';

/** A failed virsh command, with all of libvirt's error lines (the first is generic, the next say why). */
export class VirshError extends Error {
  constructor(
    /** The virsh subcommand and its arguments, without the connection options. */
    readonly command: string,
    /** stderr lines without virsh's `error: ` prefix. */
    readonly lines: string[],
    readonly kind: 'failed' | 'timeout' | 'spawn',
  ) {
    super(`virsh ${command}: ${lines.join(': ')}`);
    this.name = 'VirshError';
  }

  /** libvirt could not open the connection: refused, unknown host, authentication, no such driver. */
  get connectFailed(): boolean {
    return this.kind === 'timeout' || /failed to connect to the hypervisor/i.test(this.lines[0] ?? '');
  }
}

/** Runs one virsh subcommand against the driver's URI; resolves stdout, rejects with a VirshError. */
export type VirshExec = (args: readonly string[], options?: { readOnly?: boolean }) => Promise<string>;

/**
 * Like `runCommand` (driver.ts), but keeps every stderr line: virsh's first line is mostly the generic
 * "failed to connect to the hypervisor" and the reason follows. stdin is closed, so an ssh transport
 * can never sit waiting for a password.
 */
export function virshExec(virsh: string, uri: string, timeoutMs: number): VirshExec {
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const connection = options.readOnly === false ? ['-c', uri] : ['-r', '-c', uri];
      const command = args.join(' ');
      const child = execFile(
        virsh,
        [...connection, ...args],
        {
          timeout: timeoutMs,
          maxBuffer: 32 * 1024 * 1024,
          killSignal: 'SIGKILL',
          env: { ...process.env, LC_ALL: 'C' },
        },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          if ((err as { killed?: boolean }).killed) {
            return reject(new VirshError(command, [`timed out after ${timeoutMs} ms`], 'timeout'));
          }
          if (typeof (err as { code?: unknown }).code === 'string') {
            return reject(new VirshError(command, [`cannot run ${virsh}: ${err.message}`], 'spawn'));
          }
          const lines = stderr
            .split('\n')
            .map((l) => l.trim().replace(/^error:\s*/, ''))
            .filter((l) => l !== '');
          reject(new VirshError(command, lines.length ? lines : [err.message], 'failed'));
        },
      );
      child.stdin?.on('error', () => undefined);
      child.stdin?.end();
    });
}

/** Runs at most `limit` of the given tasks at a time (remote URIs open one ssh/TLS connection per command). */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      queue.shift()?.();
    }
  };
}
