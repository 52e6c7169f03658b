import type { OnApplicationShutdown } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { CredentialsCipher } from '@ferry/platform';
import { OPEN_TIMEOUT_MS } from '../runner/inspection-runner';
import { SourceFactory } from '../sources/source-factory';
import type { VsphereSession } from '../sources/vsphere/vsphere-session';
import type { ExportRecord } from './export.repository';

/**
 * This replica's vCenter session per open export, in memory only: the session whose cookie the
 * disk reader holds. A replica without one (a restart, or the queue group sent the renewal here)
 * logs in again with the export's stored credentials. A session is logged out when its export is
 * closed, or handed over to another replica; a shutdown leaves it to expire, since its cookie may
 * still be reading.
 */
@Injectable()
export class ExportSessions implements OnApplicationShutdown {
  private readonly sessions = new Map<string, Promise<VsphereSession>>();

  constructor(
    private readonly factory: SourceFactory,
    private readonly cipher: CredentialsCipher,
  ) {}

  /** Keeps the session `inspector.export.open` logged in with. */
  adopt(id: string, session: VsphereSession): void {
    const previous = this.sessions.get(id);
    this.sessions.set(id, Promise.resolve(session));
    void previous?.then((s) => s.close()).catch(() => undefined);
  }

  /** The export's session on this replica, logging in with its credentials when there is none. */
  get(e: ExportRecord): Promise<VsphereSession> {
    let session = this.sessions.get(e.id);
    if (!session) {
      session = this.login(e);
      this.sessions.set(e.id, session);
      session.catch(() => {
        if (this.sessions.get(e.id) === session) this.sessions.delete(e.id);
      });
    }
    return session;
  }

  /** As `get`, checked with vCenter (which resets its idle timer) and logged in again when it was forgotten. */
  async live(e: ExportRecord, signal: AbortSignal): Promise<VsphereSession> {
    const session = await this.get(e);
    try {
      await session.keepAlive(signal);
      return session;
    } catch (err) {
      await this.drop(e.id);
      throw err;
    }
  }

  /** Forgets the export's session, logging it out. */
  async drop(id: string): Promise<void> {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    await session?.then((s) => s.close()).catch(() => undefined);
  }

  /** The exports this replica holds a session for. */
  ids(): string[] {
    return [...this.sessions.keys()];
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.then((x) => x.close({ logout: false })).catch(() => undefined)));
  }

  private async login(e: ExportRecord): Promise<VsphereSession> {
    if (!e.credentials)
      throw new FerryError('CONFLICT', `export ${e.id} has no credentials left`, { id: e.id });
    if (e.credentialsKeyId !== this.cipher.keyId) {
      throw new FerryError(
        'UNAVAILABLE',
        `this inspector replica cannot read the credentials of export ${e.id}: INSPECTOR_CREDENTIALS_KEY differs (or is unset)`,
        { id: e.id },
      );
    }
    const secret = this.cipher.decrypt(e.credentials, e.id);
    const session = this.factory.vsphereSession({ url: e.url, ...secret });
    try {
      await session.open(AbortSignal.timeout(OPEN_TIMEOUT_MS));
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }
}
