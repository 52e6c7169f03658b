import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CommandError } from '@ferry/platform';
import type { QemuImg } from '@ferry/qemu';
import { createQemuImg, readQcow2Size } from '@ferry/qemu';
import { createLimiter } from './limit';
import type { ImageInfo } from './probes';

export interface ImageProbeOptions {
  /** The qemu-img binary; default `qemu-img`. */
  qemuImg?: string;
  /** Per run of qemu-img; default 10 s. */
  timeoutMs?: number;
  /** qemu-img runs at once (the first sweep meets every image); default 2. */
  concurrency?: number;
  /** Entries not asked about for this long (up to twice as long) are dropped; default 10 min. */
  idleMs?: number;
  /**
   * A file modified less than this before qemu-img read it is read again next time: mtime has a
   * coarse clock, so a change right after the read can keep the same (size, mtime). Default 1 s.
   */
  racyMs?: number;
  /** Replaces qemu-img (the default runs the real one, with `qemuImg` and `timeoutMs`). */
  img?: QemuImg;
}

interface Entry {
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
  info: ImageInfo;
  /** false when the file changed so shortly before qemu-img read it that (size, mtime) may lag. */
  settled: boolean;
}

/**
 * Format and virtual size of image files, cached by path and keyed on the file's (size, mtime,
 * inode): an unchanged file costs one stat, a changed or replaced one a new read. A qcow2 image is
 * read from its header in-process; any other file by `qemu-img info` (a process each: at 10,000
 * images a cold sweep spent two minutes spawning them).
 */
export class ImageProbe {
  /** Images read so far (a qcow2 header, or qemu-img for any other file): the cache's misses. */
  runs = 0;
  /** Of those, the `qemu-img info` runs. */
  qemuImgRuns = 0;
  private current = new Map<string, Entry>();
  private previous = new Map<string, Entry>();
  private rotatedAt = Date.now();
  private readonly inFlight = new Map<string, Promise<ImageInfo | null>>();
  private readonly limited: <T>(work: () => Promise<T>) => Promise<T>;
  private readonly img: QemuImg;
  private readonly idleMs: number;
  private readonly racyMs: number;

  constructor(options: ImageProbeOptions = {}) {
    this.limited = createLimiter(options.concurrency ?? 2);
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.racyMs = options.racyMs ?? 1000;
    this.img =
      options.img ??
      createQemuImg({ qemuImg: options.qemuImg ?? 'qemu-img', timeoutMs: options.timeoutMs ?? 10_000 });
  }

  /** Entries in the cache. */
  get cached(): number {
    return new Set([...this.current.keys(), ...this.previous.keys()]).size;
  }

  /** What the file is; null when it does not exist. Rejects when qemu-img fails on it. */
  info(path: string): Promise<ImageInfo | null> {
    const pending = this.inFlight.get(path);
    if (pending) return pending;
    const work = this.lookup(path).finally(() => this.inFlight.delete(path));
    this.inFlight.set(path, work);
    return work;
  }

  forget(path: string): void {
    this.current.delete(path);
    this.previous.delete(path);
  }

  /** Drops every entry but those of `paths` (the sweep's image files). */
  retain(paths: ReadonlySet<string>): void {
    for (const map of [this.current, this.previous])
      for (const path of map.keys()) if (!paths.has(path)) map.delete(path);
  }

  private async lookup(path: string): Promise<ImageInfo | null> {
    this.rotate();
    const before = await statOf(path);
    if (!before) {
      this.forget(path);
      return null;
    }
    const cached = this.current.get(path) ?? this.previous.get(path);
    if (cached?.settled && sameFile(cached, before)) {
      this.current.set(path, cached);
      return cached.info;
    }
    this.forget(path);
    const startedAtMs = Date.now();
    this.runs++;
    const qcow2Size = await readQcow2Size(path);
    const info: ImageInfo | null =
      qcow2Size !== null ? { format: 'qcow2', virtualSize: qcow2Size } : await this.qemuImgInfo(path);
    if (!info) return null;
    const settled = BigInt(startedAtMs - this.racyMs) * 1_000_000n > before.mtimeNs;
    this.current.set(path, { size: before.size, mtimeNs: before.mtimeNs, ino: before.ino, info, settled });
    return info;
  }

  /** Anything but a qcow2 image: qemu-img knows every format. Null when the file went away meanwhile. */
  private async qemuImgInfo(path: string): Promise<ImageInfo | null> {
    try {
      return await this.limited(() => {
        this.qemuImgRuns++;
        return this.img.info(resolve(path)).then(({ format, virtualSizeBytes }) => ({
          format,
          virtualSize: virtualSizeBytes,
        }));
      });
    } catch (err) {
      if (!(await statOf(path))) return null; // gone while qemu-img looked at it
      // qemu-img's own reason, not the command line that CommandError's message starts with.
      const why = err instanceof CommandError ? (err.lines[0] ?? err.message) : (err as Error).message;
      throw new Error(`qemu-img info ${path}: ${why}`);
    }
  }

  /** Two generations: what was not asked about during a whole generation falls out. */
  private rotate(): void {
    const now = Date.now();
    if (now - this.rotatedAt < this.idleMs) return;
    this.previous = this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}

function sameFile(entry: Entry, now: BigIntStats): boolean {
  return entry.size === now.size && entry.mtimeNs === now.mtimeNs && entry.ino === now.ino;
}

async function statOf(path: string): Promise<BigIntStats | null> {
  try {
    return await stat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
