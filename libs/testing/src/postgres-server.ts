import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './infra';
import { ManagedProcess } from './processes';

/** Debian's server binaries: /usr/lib/postgresql/<newest>/bin (or PG_BIN_DIR). */
function binDir(): string {
  const fromEnv = process.env['PG_BIN_DIR'];
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dir = versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'initdb')));
  if (!dir) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (set PG_BIN_DIR)');
  return dir;
}

/** Postgres refuses to run as root: as root, the cluster runs as the `postgres` user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid === 0) throw new Error('running as root needs a `postgres` user');
  return { uid, gid };
}

/**
 * A private PostgreSQL cluster on a free port, in a temporary folder, for a test that must stop the
 * database under running services (the shared one on 5432 is never touched). Trust auth on
 * 127.0.0.1, fsync off: it holds nothing worth keeping.
 */
export class PostgresServerProcess {
  private proc?: ManagedProcess;

  private constructor(
    readonly port: number,
    private readonly dataDir: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  static async start(): Promise<PostgresServerProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pg-'));
    const user = runAs();
    if (user) chownSync(dir, user.uid, user.gid);
    const init = spawnSync(
      join(binDir(), 'initdb'),
      ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
      { encoding: 'utf8', timeout: 60_000, ...user },
    );
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout || init.error}`);
    const server = new PostgresServerProcess(await freePort(), dir, user);
    await server.restart();
    return server;
  }

  /** The admin URL (database `postgres`), as TEST_PG_ADMIN_URL is for the shared server. */
  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Starts the server (again) and resolves once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn(
      join(binDir(), 'postgres'),
      [
        '-D',
        join(this.dataDir, 'data'),
        '-p',
        String(this.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${this.dataDir}`,
        '-c',
        'fsync=off',
        '-c',
        'max_connections=200',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], ...this.user },
    );
    this.proc = new ManagedProcess('postgres', child);
    await this.proc.waitFor(/database system is ready to accept connections/, 30_000);
    const c = new Client({ connectionString: this.adminUrl });
    await c.connect();
    await c.end();
  }

  /**
   * `pg_ctl -m immediate`: SIGQUIT to the postmaster, which ends every backend at once without a
   * checkpoint (a crash, as far as clients can tell); recovery replays the WAL on the next start.
   */
  async crash(): Promise<void> {
    await this.proc?.stop('SIGQUIT', 20_000);
  }

  async dispose(): Promise<void> {
    await this.proc?.stop('SIGQUIT', 20_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
