import type { Logger } from '@nestjs/common';
import type { ExportSessionDto } from '@ferry/contracts';
import { InspectorSubjects, errorOf } from '@ferry/contracts';
import type { FerryClient } from '@ferry/platform';
import { retrying } from '@ferry/platform';
import type { HttpSession } from '@ferry/qemu';
import { SessionFiles } from '@ferry/qemu';

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
 * The download session of one vSphere export, for nbdkit: the cookie lives in `SessionFiles`, which
 * nbdkit's cookie script reads at its first request and again once `renewSeconds` have passed
 * (nbdkit 1.32 does not re-read it on a reconnection). Before the inspector's `expiresAt` the session
 * is asked for again (which also renews the export's lease, so its snapshot outlives a long
 * download) and the file is replaced.
 */
export class ExportSession {
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly client: FerryClient,
    private readonly exportId: string,
    private readonly files: SessionFiles,
    private readonly logger: Logger,
  ) {}

  get http(): HttpSession {
    return this.files.http;
  }

  static async start(
    client: FerryClient,
    exportId: string,
    logger: Logger,
    /** How long an inspector that is unavailable (restarting) is waited for. */
    retryMs: number,
  ): Promise<ExportSession> {
    const first = await retrying(Math.max(retryMs, MIN_SESSION_RETRY_MS), () =>
      client.send(InspectorSubjects.EXPORT_SESSION, { id: exportId }, { timeoutMs: SESSION_TIMEOUT_MS }),
    );
    const files = await SessionFiles.create({ caPem: first.caPem, renewSeconds: 30 });
    const session = new ExportSession(client, exportId, files, logger);
    try {
      await session.store(first);
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.files.close();
  }

  private async store(session: ExportSessionDto): Promise<void> {
    await this.files.setCookie(session.cookie);
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
