import { execFile } from 'node:child_process';
import type { DiscoveryDriver, Fact, HostCapabilityData } from '@ferry/contracts';
import { unknown } from '@ferry/contracts';

/** The host as a whole could not be reached (e.g. libvirt refused the connection): no facts at all. */
export class HostUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HostUnreachableError';
  }
}

/** Discovers the capabilities of one host. One failing probe costs only its own fields. */
export interface CapabilityDriver {
  readonly name: DiscoveryDriver;
  /** `uri` is `local` for the local driver, a libvirt URI for the libvirt driver. */
  discover(uri: string): Promise<HostCapabilityData>;
}

export interface ProbeOptions {
  qemuBinary: string;
  qemuImg: string;
  virsh: string;
  /** Limit of every command the drivers run, in ms. */
  timeoutMs: number;
  /** Directory whose file system holds guest disks (for the local DISK_GB inventory). */
  diskPath: string;
}

/**
 * A command that failed: it could not be started (`spawn`), ran past its limit (`timeout`), or exited
 * non-zero (`failed`, with its stderr lines). The message is the command and its first stderr line.
 */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly kind: 'failed' | 'timeout' | 'spawn',
    readonly lines: string[],
  ) {
    super(`${command}: ${lines[0] ?? kind}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs a command with a timeout (SIGKILL), in the C locale; resolves stdout, rejects with a
 * CommandError. stdin gets `input`, or is closed (so an ssh transport never waits for a password).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const command = [file, ...args].join(' ');
    const child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
        killSignal: 'SIGKILL',
        env: { ...process.env, LC_ALL: 'C' },
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
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
        reject(new CommandError(command, 'failed', lines.length ? lines : [err.message]));
      },
    );
    // A command that exits without reading its input would fail the write with EPIPE, an 'error'
    // event that crashes the process when unhandled; the exit itself is reported above.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * The message of a thrown value. Not `instanceof Error`: errors of Node's own modules fail that test
 * inside jest's sandbox, and a reason must read the same in tests and in the service.
 */
export function errorMessage(err: unknown): string {
  const text = (err as { message?: unknown } | null)?.message;
  return typeof text === 'string' ? text : String(err);
}

/** A fact computed by `read`, or null with the reason when `read` throws. */
export async function probe<T>(source: string, read: () => Promise<T> | T): Promise<Fact<T>> {
  try {
    return { value: await read(), source };
  } catch (err) {
    return unknown<T>(source, errorMessage(err));
  }
}

/** A value, or why it could not be had. */
export type Outcome<T> = { value: T } | { reason: string };

/** Never rejects, so it can wait while other probes run. */
export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ value }),
    (err: unknown) => ({ reason: errorMessage(err) }),
  );
}
