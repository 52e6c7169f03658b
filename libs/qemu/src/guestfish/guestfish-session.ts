import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GuestfishDisk {
  /** A file, or an NBD URI qemu reads (see guestfishDrive). */
  path: string;
  /** qcow2, raw, …: always given, so that a raw image is never probed. */
  format: string;
}

export interface GuestfishOptions {
  guestfish: string;
  /** LIBGUESTFS_* variables (see libguestfsEnv). */
  env: Record<string, string>;
  /** Limit of the whole session, appliance boot included, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Open the disks read-write (`--rw`) instead of read-only (`--ro`, the default): only for a fix
   * of disks nothing else has open (libguestfs takes no lock; a running VM's disk would be corrupted).
   */
  readWrite?: boolean;
}

/** What one guestfish command printed, and the libguestfs errors reported for its line. */
export interface GuestfishResult {
  out: string;
  errors: string[];
}

/** The session failed as a whole: the appliance did not start, guestfish died, or time ran out. */
export class GuestfishError extends Error {
  constructor(
    readonly kind: 'launch' | 'exited' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'GuestfishError';
  }
}

interface Pending {
  marker: string;
  lines: number[];
  resolve: (r: GuestfishResult) => void;
  reject: (e: unknown) => void;
}

/** A socket path guestfish's URI parser takes as it is (it does not percent-decode the query). */
const SAFE_SOCKET = /^\/[\w/.+-]+$/;

/**
 * What guestfish's `-a` takes for an image qemu reads, or null when it cannot open it: a file as it
 * is; qemu's NBD URI over a unix socket (`nbd+unix:///<export>?socket=<path>`, what the import
 * sources serve) in libguestfs's own spelling, `nbd:///<export>?socket=<path>`, since guestfish 1.48
 * takes `nbd+unix:` for a file name; `nbd://host[:port][/export]` as it is. A qemu `json:`
 * pseudo-filename (an export cut to a size) has no guestfish spelling.
 */
export function guestfishDrive(image: string): string | null {
  if (image.startsWith('json:')) return null;
  if (image.startsWith('nbd://')) return image;
  if (!image.startsWith('nbd+unix:')) return image.includes('://') ? null : image;
  let uri: URL;
  try {
    uri = new URL(image);
  } catch {
    return null;
  }
  const socket = uri.searchParams.get('socket');
  const name = decodeURIComponent(uri.pathname.replace(/^\//, ''));
  if (!socket || !SAFE_SOCKET.test(socket) || !/^[\w.-]*$/.test(name)) return null;
  return `nbd://${name ? `/${name}` : ''}?socket=${socket}`;
}

/** How long guestfish may take to leave after `exit` (it stops the appliance) before it is killed. */
const EXIT_GRACE_MS = 10_000;

/**
 * One guestfish process over stdin/stdout: one appliance boot for any number of commands, each
 * chosen after reading the previous answers (the roots `inspect-os` finds decide what is read next).
 * Every command is sent with guestfish's `-` prefix (an error does not end the session), followed by
 * `echo <marker>`: what comes before the marker on stdout is the command's output. guestfish names
 * the input line of each error (`*stdin*:12: libguestfs: error: …`), which ties errors to commands.
 *
 * An abort or the deadline kills guestfish (SIGKILL: it ignores SIGINT while it boots, and SIGTERM
 * cleans up no better); libguestfs's recovery process then kills the appliance's QEMU within a
 * second, and close() removes the session's LIBGUESTFS_TMPDIR.
 */
export class GuestfishSession {
  private readonly nonce = randomBytes(12).toString('hex');
  private readonly pending: Pending[] = [];
  private readonly errorsByLine = new Map<number, string[]>();
  private readonly stderrTail: string[] = [];
  private stdout = '';
  private stderr = '';
  private line = 0;
  private markers = 0;
  private failure: unknown;
  private readonly exited: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.fail(this.options.signal?.reason ?? new Error('aborted'));

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly options: GuestfishOptions,
    /** LIBGUESTFS_TMPDIR: the appliance's disk overlays, removed by close() even after a kill. */
    private readonly tmp: string,
  ) {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.onStderr(chunk));
    child.stdin.on('error', () => undefined); // EPIPE after guestfish died: reported by 'exit'
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.fail(new GuestfishError('launch', `${options.guestfish}: ${err.message}`));
        resolve();
      });
      child.on('close', (code, signal) => {
        const why = this.stderrTail.slice(-3).join('; ') || `exit ${code ?? signal}`;
        this.fail(new GuestfishError('exited', `guestfish exited: ${why}`));
        resolve();
      });
    });
    this.timer = setTimeout(
      () =>
        this.fail(new GuestfishError('timeout', `guestfish did not finish within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /**
   * Starts guestfish over the disks (sda, sdb, … in this order), read-only unless
   * `options.readWrite`, and boots the appliance.
   */
  static async start(disks: GuestfishDisk[], options: GuestfishOptions): Promise<GuestfishSession> {
    options.signal?.throwIfAborted();
    const drives = disks.map((d) => {
      const drive = guestfishDrive(d.path);
      if (drive === null) throw new GuestfishError('launch', `guestfish cannot open ${d.path}`);
      return drive;
    });
    const args = [
      options.readWrite ? '--rw' : '--ro',
      ...disks.flatMap((d, i) => [`--format=${d.format}`, '-a', drives[i]!]),
    ];
    const tmp = await mkdtemp(join(tmpdir(), 'ferry-guestfish-'));
    const child = spawn(options.guestfish, args, {
      env: { ...process.env, ...options.env, LIBGUESTFS_TMPDIR: tmp, LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const session = new GuestfishSession(child, options, tmp);
    try {
      // Without the `-` prefix: guestfish exits when the appliance does not start.
      const [launched] = await session.send(['run'], false);
      if (launched?.errors.length) throw new GuestfishError('launch', launched.errors.join('; '));
    } catch (err) {
      await session.close();
      if (err instanceof GuestfishError && err.kind === 'exited') {
        throw new GuestfishError('launch', `the libguestfs appliance did not start: ${err.message}`);
      }
      throw err;
    }
    return session;
  }

  /** Runs the commands in order; an error in one is in its result and does not stop the rest. */
  run(commands: string[]): Promise<GuestfishResult[]> {
    return this.send(commands, true);
  }

  /** Ends the session: `exit` (which stops the appliance), then a kill if guestfish lingers. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.failure === undefined) this.child.stdin.end('exit\n');
      else this.child.kill('SIGKILL');
      const grace = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS);
      await this.exited;
      clearTimeout(grace);
    }
    // A killed guestfish cleans up nothing; its socket directory (empty, in /tmp for root, where
    // libguestfs always puts it) stays behind.
    await rm(this.tmp, { recursive: true, force: true });
  }

  private send(commands: string[], continueOnError: boolean): Promise<GuestfishResult[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let text = '';
    const results = commands.map((command) => {
      if (/[\n\r]/.test(command)) throw new Error(`a guestfish command cannot span lines: ${command}`);
      const marker = `@@ferry-${this.nonce}-${this.markers++}@@`;
      const lines = [++this.line];
      this.line++; // the echo
      text += `${continueOnError ? '-' : ''}${command}\necho ${marker}\n`;
      return new Promise<GuestfishResult>((resolve, reject) =>
        this.pending.push({ marker, lines, resolve, reject }),
      );
    });
    this.child.stdin.write(text);
    return Promise.all(results);
  }

  private onStdout(chunk: string): void {
    this.stdout += chunk;
    for (;;) {
      const next = this.pending[0];
      if (!next) return;
      const at = this.stdout.indexOf(`${next.marker}\n`);
      if (at < 0) return;
      this.pending.shift();
      const out = this.stdout.slice(0, at);
      this.stdout = this.stdout.slice(at + next.marker.length + 1);
      next.resolve({ out, errors: next.lines.flatMap((l) => this.errorsByLine.get(l) ?? []) });
    }
  }

  private onStderr(chunk: string): void {
    this.stderr += chunk;
    const lines = this.stderr.split('\n');
    this.stderr = lines.pop() ?? '';
    for (const raw of lines) {
      const text = raw.trim();
      if (!text) continue;
      this.stderrTail.push(text);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      const m = /^\*stdin\*:(\d+): (?:libguestfs: error: )?(.*)$/.exec(text);
      if (!m) continue;
      const at = Number(m[1]);
      this.errorsByLine.set(at, [...(this.errorsByLine.get(at) ?? []), m[2] ?? text]);
    }
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    clearTimeout(this.timer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}
