import { CommandError } from '@ferry/platform';

/** How to reach a remote file that needs a session (vSphere's `/folder` downloads). */
export interface HttpSession {
  /**
   * A file whose whole content is the Cookie header value (e.g. `vmware_soap_session="abc"`). Read for
   * every probe here, and by nbdkit at its first request and again whenever `renewSeconds` have passed
   * since (nbdkit 1.32 does not read it again on a reconnection). Absent: no cookie.
   */
  cookieFile?: string;
  /** Default 60. */
  renewSeconds?: number;
  /** PEM CA bundle to trust (vcsim's own certificate in tests); absent = system CAs. Checks stay on. */
  caFile?: string;
}

export type ImportSourceSpec =
  /**
   * A local file: raw, qcow2, vmdk (any subformat, delta chains through parentFileNameHint), vpc, vhdx,
   * or an OVA (tar) / OVF (descriptor beside its files). `member`: the disk of an OVA/OVF, by 1-based
   * DiskSection index or by file name; required when it has several.
   */
  | { kind: 'file'; path: string; member?: number | string }
  /**
   * A remote file (https unless `allowHttp`). A VMDK text descriptor has its extents and parents
   * resolved against the URL (its query kept, as vSphere's `?dcPath=&dsName=` needs); an OVA's `member`
   * is read in place with ranged requests.
   */
  | { kind: 'http'; url: string; session?: HttpSession; allowHttp?: boolean; member?: number | string };

export interface OpenedSource {
  /** What qemu-img reads: a file name, `nbd+unix:///?socket=…`, or a `json:{…}` pseudo-filename. */
  image: string;
  /** qemu's format driver for `image` (`raw`, `qcow2`, `vmdk`, `vpc`, `vhdx`): never probed at convert time. */
  format: string;
  virtualSizeBytes: number;
  /** How it was resolved, one entry per layer, e.g. `vmdk monolithicFlat: web01.vmdk + web01-flat.vmdk (2 GiB)`. */
  layers: string[];
  /** Bytes the source holds on the wire or disk (the sum of its files), when known. */
  sourceBytes?: number;
  /**
   * For a local source, every file qemu reads (real paths: the image, its extents, its backing chain),
   * so a caller that limits where imports may read can check them all, not only the one it was given.
   */
  files?: string[];
  /** Stops the NBD servers, removes the temporary directory. Idempotent. */
  close(): Promise<void>;
}

export interface OpenImportOptions {
  qemuImg?: string;
  nbdkit?: string;
  /** qemu-nbd, which serves a remote VMDK that needs qemu's vmdk driver (see the README). */
  qemuNbd?: string;
  /** Limit of each step of opening (a request, a qemu-img run, a server start), in ms. */
  timeoutMs: number;
  /** Where the private directory of sockets and descriptors goes; default the system's. */
  tmpDir?: string;
  signal?: AbortSignal;
  /** The servers stop after this long even if `close` is never called; default 24 h. */
  lifetimeMs?: number;
}

export type ImportSourceReason = 'not-found' | 'unauthorized' | 'unsupported' | 'corrupt' | 'unreachable';

/** Why a source cannot be imported; the message names the file (never a URL's query) and the cause. */
export class ImportSourceError extends Error {
  constructor(
    readonly reason: ImportSourceReason,
    message: string,
  ) {
    super(message);
    this.name = 'ImportSourceError';
  }
}

/**
 * A failed qemu-img run as an ImportSourceError: a missing file is `not-found`, a server that stopped
 * answering `unreachable`, anything else qemu-img could not read `corrupt`, with qemu-img's words.
 * An abort, or a qemu-img that could not start, is passed through as it is.
 */
export function qemuImgFailure(err: unknown, what: string): unknown {
  if (!(err instanceof CommandError) || err.kind === 'aborted' || err.kind === 'spawn') return err;
  if (err.kind === 'timeout')
    return new ImportSourceError('unreachable', `${what}: qemu-img ${err.lines[0]}`);
  const reason = err.lines.map((l) => l.replace(/^qemu-img: /, '')).join('; ');
  if (/No such file or directory/.test(reason))
    return new ImportSourceError('not-found', `${what}: ${reason}`);
  if (/Failed to connect|Connection (refused|reset)|export not available/.test(reason))
    return new ImportSourceError('unreachable', `${what}: ${reason}`);
  return new ImportSourceError('corrupt', `${what}: ${reason}`);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `2 GiB`, `1.5 MiB`, `512 B`: sizes for the layers' descriptions. */
export function formatBytes(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))} ${UNITS[unit]}`;
}

/**
 * What an opened source must undo, in reverse order of `defer`: stopping servers, removing the
 * directory. `close` runs it once however often it is called, and after `lifetimeMs` by itself.
 */
export class Cleanup {
  private readonly steps: (() => Promise<void>)[] = [];
  private closing?: Promise<void>;
  private timer?: NodeJS.Timeout;

  defer(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Closes after `ms`; the timer does not keep the process alive. */
  expireAfter(ms: number): void {
    this.timer = setTimeout(() => void this.close(), ms);
    this.timer.unref();
  }

  close(): Promise<void> {
    clearTimeout(this.timer);
    this.closing ??= (async () => {
      for (const step of this.steps.reverse()) await step().catch(() => undefined);
    })();
    return this.closing;
  }
}
