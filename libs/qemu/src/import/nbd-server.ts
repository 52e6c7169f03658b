import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { connect } from 'node:net';

/** A long-lived NBD server on a unix socket (nbdkit or qemu-nbd), known by its pid. */
export interface NbdServer {
  pid: number;
  socket: string;
  /** `nbd+unix:///?socket=<socket>`, what qemu reads. */
  uri: string;
  /** `{"driver":"nbd","server":{…}}`, for a json: pseudo-filename. */
  node: { driver: 'nbd'; server: { type: 'unix'; path: string } };
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartNbdServer {
  /** What to call it in errors. */
  name: string;
  command: string;
  args: string[];
  /** The unix socket the server makes (its directory must be private). */
  socket: string;
  cwd?: string;
  /** How long it may take to listen, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const STOP_GRACE_MS = 5_000;
const MAX_STDERR = 16 * 1024;

/**
 * One attempt: true once the server greets a client (`NBDMAGIC`). Accepting is not enough: qemu-nbd
 * listens before it opens its image, so a connection made then is reset when the open fails.
 */
function greets(socket: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(socket);
    c.setTimeout(timeoutMs, () => c.destroy());
    let got = Buffer.alloc(0);
    c.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 8) {
        c.destroy();
        resolve(got.subarray(0, 8).toString('latin1') === 'NBDMAGIC');
      }
    });
    c.once('error', () => resolve(false));
    c.once('close', () => resolve(false));
  });
}

/**
 * Starts a server and resolves once it greets a client on its socket: attempts back off from 5 to
 * 100 ms until `timeoutMs`. Rejects with the server's stderr when it exits first, and kills it when
 * the deadline passes or `signal` aborts. The server must end with its parent by itself (nbdkit's
 * `--exit-with-parent`, `setpriv --pdeathsig`): `stop` covers every other end.
 */
export async function startNbdServer(spec: StartNbdServer): Promise<NbdServer> {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_ALL: 'C' },
  });
  // Ends with us (its own flag) or with close(): it must not keep the event loop alive by itself.
  child.unref();
  (child.stderr as Socket).unref();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  child.once('exit', () => (gone = true));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const stop = async () => {
    if (!gone) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  const fail = async (why: string): Promise<never> => {
    await stop();
    const said = stderr.trim().split('\n').slice(-5).join('; ');
    throw new Error(`${spec.name} ${why}${said ? `: ${said}` : ''}`);
  };

  const deadline = Date.now() + spec.timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    const early = await Promise.race([
      spawnError,
      exited.then(() => undefined),
      greets(spec.socket, Math.max(100, deadline - Date.now())),
    ]);
    if (early instanceof Error) return fail(`could not start (${early.message})`);
    if (early === true) break;
    if (gone || early === undefined) return fail(`exited before it served (status ${child.exitCode})`);
    if (spec.signal?.aborted) return fail('was aborted while starting');
    if (Date.now() > deadline) return fail(`did not answer on ${spec.socket} within ${spec.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    socket: spec.socket,
    uri: `nbd+unix:///?socket=${spec.socket}`,
    node: { driver: 'nbd', server: { type: 'unix', path: spec.socket } },
    stop: () => (stopping ??= stop()),
  };
}
