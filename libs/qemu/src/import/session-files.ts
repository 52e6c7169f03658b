import { chmod, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HttpSession } from './import-source';

/** Writes a secret atomically (a reader sees the old text or the new, whole), readable by us alone. */
async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(`${file}.new`, text, { mode: 0o600 });
  await rename(`${file}.new`, file);
}

/**
 * The files an `HttpSession` names, in a private directory (0700; the files 0600): the cookie,
 * replaced atomically when the session changes (nbdkit's cookie script reads it), and the CA to
 * trust. Also the place for the NBD sockets of what is opened with it (`dir`). `close` removes it all.
 */
export class SessionFiles {
  private cookie: string | null = null;

  private constructor(
    readonly dir: string,
    private readonly caFile: string | undefined,
    private readonly renewSeconds: number | undefined,
  ) {}

  static async create(
    options: { caPem?: string; renewSeconds?: number; tmpDir?: string } = {},
  ): Promise<SessionFiles> {
    const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'ferry-session-'));
    try {
      await chmod(dir, 0o700);
      const caFile = options.caPem ? join(dir, 'ca.pem') : undefined;
      if (caFile) await writeSecret(caFile, options.caPem!);
      return new SessionFiles(dir, caFile, options.renewSeconds);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The session to open sources with: no cookie file until a cookie was set. */
  get http(): HttpSession {
    return {
      ...(this.cookie !== null ? { cookieFile: join(this.dir, 'cookie') } : {}),
      ...(this.caFile ? { caFile: this.caFile } : {}),
      ...(this.renewSeconds !== undefined ? { renewSeconds: this.renewSeconds } : {}),
    };
  }

  /** Replaces the cookie (the `Cookie` header value); the same cookie again writes nothing. */
  async setCookie(cookie: string): Promise<void> {
    if (cookie === this.cookie) return;
    await writeSecret(join(this.dir, 'cookie'), cookie);
    this.cookie = cookie;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
