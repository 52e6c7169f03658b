import { CommandError, runCommand } from '@ferry/platform';

/** A failed virsh command, with all of libvirt's error lines (the first is generic, the next say why). */
export class VirshError extends Error {
  constructor(
    /** The virsh subcommand and its arguments, without the connection options. */
    readonly command: string,
    /** stderr lines without virsh's `error: ` prefix. */
    readonly lines: string[],
    readonly kind: CommandError['kind'],
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
 * virsh against the driver's URI (read-only unless asked otherwise), through `runCommand`, keeping
 * every stderr line: virsh's first line is mostly the generic "failed to connect to the hypervisor"
 * and the reason follows.
 */
export function virshExec(virsh: string, uri: string, timeoutMs: number): VirshExec {
  return async (args, options = {}) => {
    const connection = options.readOnly === false ? ['-c', uri] : ['-r', '-c', uri];
    try {
      return await runCommand(virsh, [...connection, ...args], timeoutMs);
    } catch (err) {
      if (!(err instanceof CommandError)) throw err;
      const lines = err.lines.map((l) => l.replace(/^error:\s*/, '')).filter((l) => l !== '');
      throw new VirshError(args.join(' '), lines, err.kind);
    }
  };
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
