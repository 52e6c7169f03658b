import type { InspectionConcern } from '@ferry/contracts';
import type { OpenedSource } from '@ferry/qemu';
import { SessionFiles, openImportSource } from '@ferry/qemu';
import type { DiskImage } from '../../deep/first-pass';
import { diskUnreadable, sortConcerns } from '../../deep/hazards';
import type { DiskInspection, VmDiskInspection } from '../../deep/vm-disk-inspector';
import type { BaseDisk } from './base-disks';
import type { SourceLogger } from './vsphere-config';

/** The session the disks are read with: the inspection's own vCenter login. */
export interface DatastoreSession {
  /** The `Cookie` header value (`vmware_soap_session="…"`), read before each disk: a re-login changes it. */
  cookie(): string | null;
  /** The PEM of INSPECTOR_VSPHERE_CA_FILE, when one is set. */
  caPem?: string;
}

export interface DatastoreInspectionOptions {
  /** Limit of each step of opening a disk (a request, a qemu-img run, nbdkit's start), in ms. */
  stepTimeoutMs: number;
  /** The NBD servers stop by themselves after this long, should `close` never come. */
  lifetimeMs: number;
  /** Where the private directory goes; default the system's. */
  tmpDir?: string;
  qemuImg?: string;
  signal: AbortSignal;
  logger: SourceLogger;
  vmId: string;
  open?: typeof openImportSource;
}

/**
 * Inspects the guest on a VM's disks as its snapshot froze them, reading each base disk over the
 * datastore file service (`/folder`, ranged GETs through nbdkit's curl plugin, with the session's
 * cookie): qemu-img's first pass and libguestfs read only the sectors they need, so no disk is
 * downloaded whole. A disk that cannot be opened or read gives a warning and the others are still
 * inspected. Every NBD server is stopped and the private directory (cookie, CA, sockets) removed
 * before it returns, whatever happened; an abort rejects with `signal.reason`.
 */
export async function inspectOverDatastore(
  disks: BaseDisk[],
  session: DatastoreSession,
  inspection: DiskInspection,
  options: DatastoreInspectionOptions,
): Promise<VmDiskInspection> {
  const { signal, logger, vmId } = options;
  signal.throwIfAborted();
  const open = options.open ?? openImportSource;
  const files = await SessionFiles.create({ caPem: session.caPem, tmpDir: options.tmpDir });
  const opened: OpenedSource[] = [];
  const concerns: InspectionConcern[] = [];
  const started = Date.now();
  try {
    const images: DiskImage[] = [];
    for (const disk of disks) {
      signal.throwIfAborted();
      if (disk.unreadable) {
        concerns.push(diskUnreadable(disk.key, `${disk.fileName || disk.label}: ${disk.unreadable}`));
        continue;
      }
      const cookie = session.cookie();
      if (cookie) await files.setCookie(cookie);
      try {
        const source = await open(
          { kind: 'http', url: disk.url, session: files.http },
          {
            timeoutMs: options.stepTimeoutMs,
            tmpDir: files.dir,
            signal,
            lifetimeMs: options.lifetimeMs,
            qemuImg: options.qemuImg,
          },
        );
        opened.push(source);
        images.push({ deviceId: disk.key, path: source.image, format: source.format, name: disk.fileName });
        logger.debug?.({
          msg: 'disk opened over the datastore',
          vmId,
          disk: disk.key,
          layers: source.layers,
        });
      } catch (err) {
        signal.throwIfAborted();
        concerns.push(diskUnreadable(disk.key, `${disk.fileName}: ${(err as Error).message}`));
      }
    }
    const found = await inspection.inspect(images, signal, { unreadable: 'warn' });
    logger.log({
      msg: 'disks inspected over the datastore',
      vmId,
      disks: images.map((d) => d.deviceId),
      guests: found.guests.length,
      ms: Date.now() - started,
    });
    return { ...found, concerns: sortConcerns([...concerns, ...found.concerns]) };
  } finally {
    await Promise.all(opened.map((s) => s.close()));
    await files.close();
  }
}
