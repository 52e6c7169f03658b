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
