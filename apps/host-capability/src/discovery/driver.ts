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

export const PROBE_OPTIONS = Symbol('PROBE_OPTIONS');

/** Runs a command with a timeout; resolves stdout, rejects with the command's first stderr line. */
export function runCommand(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
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
        const killed = (err as { killed?: boolean }).killed;
        const why = killed ? `timed out after ${timeoutMs} ms` : stderr.trim().split('\n')[0] || err.message;
        reject(new Error(`${[file, ...args].join(' ')}: ${why}`));
      },
    );
    // A command that exits without reading its input would fail the write with EPIPE, an 'error'
    // event that crashes the process when unhandled; the exit itself is reported above.
    child.stdin?.on('error', () => undefined);
    if (input !== undefined) child.stdin?.end(input);
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
