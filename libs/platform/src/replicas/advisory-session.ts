import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;
const QUERY_TIMEOUT_MS = 10_000;

/** A session-level advisory lock: `pg_advisory_lock(a, hashtext(b))`, or `pg_advisory_lock(key)`. */
export type AdvisoryKey = readonly [number, string] | number;

function lockArgs(key: AdvisoryKey): { sql: string; params: unknown[] } {
  return typeof key === 'number'
    ? { sql: '$1', params: [key] }
    : { sql: '$1, hashtext($2)', params: [...key] };
}

/**
 * One Postgres session of its own, for session-level advisory locks, that survives a Postgres
 * restart: a lost connection is reconnected in the background (200 ms doubling to 2 s, forever) and
 * the locks this process holds for life (`holdForever`) are taken again on the new session.
 *
 * Why not a TypeORM QueryRunner: TypeORM releases a runner for good when its connection errors, so a
 * runner kept across awaits turns into QueryRunnerAlreadyReleasedError after the first restart (this
 * is how the observer died). Short locks (`tryLock`) are not taken again: whoever held one learns it
 * was lost from `generation`, which changes with every new session.
 */
export class AdvisorySession {
  private readonly logger = new Logger(AdvisorySession.name);
  private client?: Client;
  private connecting?: Promise<void>;
  private readonly forever: AdvisoryKey[] = [];
  private closed = false;
  private gen = 0;
  private connectedAt = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly name: string,
  ) {}

  /** Changes each time the session is (re)established: a lock taken under an older one is gone. */
  get generation(): number {
    return this.gen;
  }

  /** Whether the session is up now, and since when (ms since the epoch; 0 when down). */
  get upSince(): number {
    return this.client ? this.connectedAt : 0;
  }

  /** Connects; the first time, throws if Postgres cannot be reached. Later losses heal by themselves. */
  async open(): Promise<void> {
    if (!this.client) await this.connect();
  }

  /** Opens the session and takes `key` on it for life (again on every new session). */
  async holdForever(key: AdvisoryKey): Promise<void> {
    this.forever.push(key);
    if (!this.client) await this.connect();
    else await this.lock(this.client, key);
  }

  /** `pg_try_advisory_lock`: true when this session got it; false when another session holds it. */
  async tryLock(key: number): Promise<boolean> {
    const [row] = await this.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [key]);
    return row?.got === true;
  }

  /** Lets go of a lock taken with tryLock under `generation`; nothing to do if that session is gone. */
  async unlock(key: number, generation: number): Promise<void> {
    if (generation !== this.gen || !this.client) return;
    await this.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async query<R>(sql: string, params: unknown[]): Promise<R[]> {
    const c = this.client;
    if (!c) throw new FerryError('UNAVAILABLE', 'the database is unavailable; try again shortly', {});
    const res = await c.query({ text: sql, values: params });
    return res.rows as R[];
  }

  private async lock(c: Client, key: AdvisoryKey): Promise<void> {
    const { sql, params } = lockArgs(key);
    await c.query({ text: `SELECT pg_advisory_lock(${sql})`, values: params });
  }

  private connect(): Promise<void> {
    this.connecting ??= this.establish().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async establish(): Promise<void> {
    const options = this.ds.options as PostgresConnectionOptions;
    const c = new Client({
      ...(options.url
        ? { connectionString: options.url }
        : {
            host: options.host,
            port: options.port,
            user: options.username,
            password: typeof options.password === 'string' ? options.password : undefined,
            database: options.database,
          }),
      application_name: `${this.name}-locks`,
      connectionTimeoutMillis: 5000,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
    // Without a listener, a connection error on an idle client is thrown as an uncaught 'error'.
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('connection ended')));
    try {
      await c.connect();
      for (const key of this.forever) await this.lock(c, key);
    } catch (err) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.gen++;
    this.connectedAt = Date.now();
  }

  private lost(c: Client, err: Error): void {
    if (this.client !== c) return;
    this.client = undefined;
    if (this.closed) return;
    this.logger.warn({
      msg: 'advisory-lock session lost; reconnecting',
      session: this.name,
      error: err.message,
    });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (
      let backoff = MIN_BACKOFF_MS;
      !this.closed && !this.client;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    ) {
      await new Promise((r) => setTimeout(r, backoff));
      if (this.closed || this.client) return;
      try {
        await this.connect();
        this.logger.log({ msg: 'advisory-lock session back', session: this.name });
      } catch (err) {
        this.logger.debug?.({
          msg: 'advisory-lock session still down',
          session: this.name,
          error: (err as Error).message,
        });
      }
    }
  }
}
