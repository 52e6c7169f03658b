import { realpath } from 'node:fs/promises';
import { Injectable, Logger } from '@nestjs/common';
import { FerryError, InspectorSubjects, errorOf } from '@ferry/contracts';
import type { ErrorCode } from '@ferry/contracts';
import { FerryClient, realPathWithin, retrying } from '@ferry/platform';
import type { ImportSourceSpec, OpenedSource } from '@ferry/qemu';
import { ImportSourceError, openImportSource } from '@ferry/qemu';
import { VolumeDaemonConfig } from '../config/volume-daemon.config';
import { ExportSession } from './export-session';
import type { StoredSource } from './import-params';

/** Deadline of the inspector's export calls (a snapshot of a busy VM takes a while). */
export const EXPORT_TIMEOUT_MS = 120_000;
/** How long opening a source may take (HEAD, the session, nbdkit up, qemu-img info), in ms. */
const OPEN_TIMEOUT_MS = 60_000;

const REASON_CODES: Record<ImportSourceError['reason'], ErrorCode> = {
  'not-found': 'UNPROCESSABLE',
  unauthorized: 'UNPROCESSABLE',
  unsupported: 'UNPROCESSABLE',
  corrupt: 'UNPROCESSABLE',
  unreachable: 'UNAVAILABLE',
};

/** An ImportSourceError as the caller sees it: the reason in the message, the right code. */
export function sourceFailure(err: unknown): unknown {
  if (!(err instanceof ImportSourceError)) return err;
  return new FerryError(REASON_CODES[err.reason], err.message, { reason: err.reason });
}

/**
 * Opens an import's source for reading, with what only volume-daemon may decide: which local
 * directories may be read (`VOLUME_IMPORT_DIRS`, symlinks followed), whether plain http is allowed,
 * and, for vSphere, the export's download session (renewed while the source is open).
 */
@Injectable()
export class SourceAccess {
  private readonly logger = new Logger(SourceAccess.name);

  constructor(
    private readonly client: FerryClient,
    private readonly config: VolumeDaemonConfig,
  ) {}

  /** The real path of a file an import may read; UNPROCESSABLE naming why not. */
  async allowedFile(path: string): Promise<string> {
    const dirs = this.config.VOLUME_IMPORT_DIRS.split(',').filter(Boolean);
    if (dirs.length === 0)
      throw new FerryError('UNPROCESSABLE', 'file imports are disabled: VOLUME_IMPORT_DIRS is empty', {
        path,
      });
    await realpath(path).catch(() => {
      throw new FerryError('UNPROCESSABLE', `no such file: ${path}`, { path });
    });
    const real = await realPathWithin(path, dirs);
    if (real !== undefined) return real;
    throw new FerryError(
      'UNPROCESSABLE',
      `${path} is not under a directory imports may read (VOLUME_IMPORT_DIRS: ${dirs.join(', ')})`,
      { path },
    );
  }

  /** Refuses a URL the daemon may not fetch (plain http unless allowed, user:password in it). */
  checkUrl(url: string): void {
    const u = new URL(url);
    if (u.username || u.password)
      throw FerryError.validation('url must not carry credentials', [
        { field: 'source.url', messages: ['url must not carry a user name or password'] },
      ]);
    if (u.protocol !== 'https:' && this.config.VOLUME_IMPORT_ALLOW_HTTP !== 'true')
      throw FerryError.validation('url must be https', [
        { field: 'source.url', messages: ['url must be https (VOLUME_IMPORT_ALLOW_HTTP allows http)'] },
      ]);
  }

  /** Opens the source; the result's `close` also ends a vSphere session. Errors are FerryErrors. */
  async open(source: StoredSource, signal?: AbortSignal): Promise<OpenedSource> {
    let session: ExportSession | undefined;
    try {
      let spec: ImportSourceSpec;
      if (source.type === 'file') {
        spec = { kind: 'file', path: await this.allowedFile(source.path), member: source.disk };
      } else if (source.type === 'url') {
        this.checkUrl(source.url);
        spec = {
          kind: 'http',
          url: source.url,
          allowHttp: this.config.VOLUME_IMPORT_ALLOW_HTTP === 'true',
          member: source.disk,
          session: this.config.VOLUME_IMPORT_CA_FILE
            ? { caFile: this.config.VOLUME_IMPORT_CA_FILE }
            : undefined,
        };
      } else {
        session = await ExportSession.start(
          this.client,
          source.exportId,
          this.logger,
          this.config.VOLUME_BACKEND_RETRY_MS,
        );
        spec = { kind: 'http', url: source.url, session: session.http };
      }
      const opened = await openImportSource(spec, {
        timeoutMs: OPEN_TIMEOUT_MS,
        signal,
        // The NBD servers outlive neither the convert and the compare, nor this process.
        lifetimeMs: 2 * this.config.VOLUME_IMPORT_TIMEOUT_MS + OPEN_TIMEOUT_MS,
      });
      // A VMDK names its extents and parents itself: each of them must be readable too.
      if (spec.kind === 'file')
        await Promise.all((opened.files ?? []).map((f) => this.allowedFile(f))).catch(
          async (err: unknown) => {
            await opened.close();
            throw err;
          },
        );
      const ended = session;
      return {
        ...opened,
        close: async () => {
          await opened.close();
          await ended?.close();
        },
      };
    } catch (err) {
      await session?.close();
      throw sourceFailure(err);
    }
  }

  /** Closes a vSphere export (its snapshot goes). Never throws: a failure is logged, and the export's
   * lease runs out, after which the inspector's recovery removes the snapshot. */
  async closeExport(exportId: string): Promise<void> {
    await retrying(this.config.VOLUME_BACKEND_RETRY_MS, () =>
      this.client.send(InspectorSubjects.EXPORT_CLOSE, { id: exportId }, { timeoutMs: EXPORT_TIMEOUT_MS }),
    ).then(
      () => undefined,
      (err: unknown) =>
        this.logger.warn({
          msg: 'could not close the vSphere export',
          exportId,
          error: errorOf(err).message,
        }),
    );
  }
}
