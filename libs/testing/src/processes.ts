import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import { freePort } from './infra';

/** The repository root, whether this file runs from libs/ (jest) or from dist/libs/ (bench). */
function findRoot(dir: string): string {
  if (existsSync(join(dir, 'tools', 'register-paths.js'))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error('cannot find the repository root');
  return findRoot(parent);
}
const ROOT = findRoot(__dirname);

/** A spawned process with its output kept for assertions and failure messages. */
export class ManagedProcess {
  readonly output: string[] = [];
  private exitPromise: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) this.output.push(line);
      if (this.output.length > 5000) this.output.splice(0, this.output.length - 5000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exitPromise = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.output.some((l) => pattern.test(l))) return;
      if (!this.running) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(
      `${this.name} did not print ${pattern} (running=${this.running}):\n${this.output.slice(-30).join('\n')}`,
    );
  }

  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exitPromise;
    clearTimeout(timer);
    return code;
  }

  exited(): Promise<number | null> {
    return this.exitPromise;
  }
}

/** Starts a built service: `node -r tools/register-paths.js dist/apps/<app>/src/main.js`. */
export function spawnService(app: string, env: Record<string, string>, args: string[] = []): ManagedProcess {
  const child = spawn(
    process.execPath,
    ['-r', join(ROOT, 'tools/register-paths.js'), join(ROOT, 'dist/apps', app, 'src/main.js'), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new ManagedProcess(app, child);
}

/** A private nats-server with JetStream on a free port, so a test may stop and restart the broker. */
export class NatsServerProcess {
  private proc?: ManagedProcess;
  private readonly storeDir = mkdtempSync(join(tmpdir(), 'ferry-nats-'));

  private configFile?: string;

  /** The monitoring port (`http://127.0.0.1:<port>/routez`) when started with `monitor`. */
  monitorPort = 0;

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  /**
   * `config`: a production nats.conf (deploy/nats/nats.conf) to run as a single node: its cluster
   * block is dropped, its store moves to a temporary folder, and `env` fills its $VARIABLES (the
   * per-service passwords). Its `include`s are inlined from its folder, but tls.conf and cluster.conf
   * become off.conf (no certificates, one node) unless `includes` gives their text. `monitor` serves
   * monitoring on 127.0.0.1:monitorPort.
   */
  static async start(
    options: {
      config?: string;
      env?: Record<string, string>;
      includes?: Record<string, string>;
      monitor?: boolean;
    } = {},
  ): Promise<NatsServerProcess> {
    const server = new NatsServerProcess(await freePort(), options.env ?? {});
    if (options.monitor) server.monitorPort = await freePort();
    if (options.config) server.configFile = server.singleNodeCopy(options.config, options.includes ?? {});
    await server.restart();
    return server;
  }

  private singleNodeCopy(path: string, includes: Record<string, string>): string {
    const off = readFileSync(join(dirname(path), 'off.conf'), 'utf8');
    const text = readFileSync(path, 'utf8')
      .replace(/^cluster \{[\s\S]*?^\}\n/m, '')
      .replace(/^include \.\/(\S+)$/gm, (_line, name: string) =>
        name in includes
          ? (includes[name] ?? '')
          : name === 'tls.conf' || name === 'cluster.conf'
            ? off
            : readFileSync(join(dirname(path), name), 'utf8'),
      )
      .replace(/^http:.*$/m, this.monitorPort ? `http: 127.0.0.1:${this.monitorPort}` : '')
      .replace(/store_dir:.*$/m, `store_dir: ${JSON.stringify(this.storeDir)}`);
    const copy = join(this.storeDir, 'nats.conf');
    writeFileSync(copy, text);
    return copy;
  }

  /** Waits until the server logged a line matching `pattern`. */
  async waitForLog(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    await this.proc?.waitFor(pattern, timeoutMs);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const bin = process.env['NATS_SERVER_BIN'] ?? 'nats-server';
    const args = this.configFile
      ? ['-c', this.configFile, '-a', '127.0.0.1', '-p', String(this.port)]
      : ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.proc = new ManagedProcess('nats-server', child);
    await this.proc.waitFor(/Server is ready/, 15_000);
  }

  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM');
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/**
 * The running processes (zombies not counted) whose command line contains `text`, e.g. a private
 * directory's path: what a test checks to know a component's servers are gone.
 */
export function runningProcessesNaming(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter((pid) => isProcessRunning(pid));
}
