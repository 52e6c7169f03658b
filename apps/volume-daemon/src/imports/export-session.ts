import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@nestjs/common';
import type { ExportSessionDto } from '@ferry/contracts';
import { InspectorSubjects, errorOf } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import { retrying } from '@ferry/platform';
import type { HttpSession } from '@ferry/qemu';

/**
 * Deadline of one session request, and the least time the first one is retried: a request the
 * broker handed to an inspector that died at that moment is never answered, so it is asked again
 * (another replica, or the restarted one) rather than waited for.
 */
const SESSION_TIMEOUT_MS = 10_000;
const MIN_SESSION_RETRY_MS = 30_000;
/** The soonest and latest a session is asked for again, in ms. */
const MIN_RENEW_MS = 5_000;
const MAX_RENEW_MS = 300_000;

/**
 * The download session of one vSphere export, for nbdkit: the cookie lives in a file of a private
 * directory (0700, the file 0600), which nbdkit's cookie script reads at its first request and again
 * once `renewSeconds` have passed (nbdkit 1.32 does not re-read it on a reconnection). Before the inspector's `expiresAt` the session is asked for again (which also renews
 * the export's lease, so its snapshot outlives a long download) and the file is replaced atomically.
 */
export class ExportSession {
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly client: FerryClient,
    private readonly exportId: string,
    private readonly dir: string,
    private readonly logger: Logger,
    readonly http: HttpSession,
  ) {}

  static async start(
    client: FerryClient,
    exportId: string,
    logger: Logger,
    /** How long an inspector that is unavailable (restarting) is waited for. */
    retryMs: number,
  ): Promise<ExportSession> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-export-'));
    try {
      const first = await retrying(Math.max(retryMs, MIN_SESSION_RETRY_MS), () =>
        client.send(InspectorSubjects.EXPORT_SESSION, { id: exportId }, { timeoutMs: SESSION_TIMEOUT_MS }),
      );
      const http: HttpSession = { cookieFile: join(dir, 'cookie'), renewSeconds: 30 };
      if (first.caPem) {
        http.caFile = join(dir, 'ca.pem');
        await writeFile(http.caFile, first.caPem, { mode: 0o600 });
      }
      const session = new ExportSession(client, exportId, dir, logger, http);
      await session.store(first);
      return session;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async store(session: ExportSessionDto): Promise<void> {
    const file = this.http.cookieFile!;
    await writeFile(`${file}.new`, session.cookie, { mode: 0o600 });
    await rename(`${file}.new`, file);
    const half = (Date.parse(session.expiresAt) - Date.now()) / 2;
    this.schedule(Math.min(MAX_RENEW_MS, Math.max(MIN_RENEW_MS, half)));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.renew(), ms);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const next = await this.client.send(
        InspectorSubjects.EXPORT_SESSION,
        { id: this.exportId },
        { timeoutMs: SESSION_TIMEOUT_MS },
      );
      if (!this.closed) await this.store(next);
    } catch (err) {
      // The current cookie still works for a while; try again soon. The import fails by itself
      // (HTTP 401 through nbdkit) if the session really ends.
      this.logger.warn({
        msg: 'export session renewal failed',
        exportId: this.exportId,
        error: errorOf(err).message,
      });
      this.schedule(MIN_RENEW_MS);
    }
  }
}
