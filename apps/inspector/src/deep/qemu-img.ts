import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '@ferry/platform';
import type { DiskReader } from './partition-table';

export interface ImageInfo {
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes: number | null;
  /** The image first, then its backing files. */
  backingChain: { path: string; format: string; virtualSizeBytes: number }[];
}

export interface QemuImgOptions {
  qemuImg: string;
  /** Limit of each qemu-img run, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

interface InfoEntry {
  filename?: unknown;
  format?: unknown;
  'virtual-size'?: unknown;
  'actual-size'?: unknown;
  'full-backing-filename'?: unknown;
  'backing-filename'?: unknown;
}

/**
 * `qemu-img info --output=json --backing-chain`: an array, the image first (a single object from a
 * qemu-img without --backing-chain). Backing paths come from the child's `full-backing-filename`,
 * which qemu-img resolves against the child's directory.
 */
export function parseImageInfo(json: string, path: string): ImageInfo {
  const parsed = JSON.parse(json) as InfoEntry | InfoEntry[];
  const entries = Array.isArray(parsed) ? parsed : [parsed];
  const first = entries[0];
  if (!first || typeof first.format !== 'string' || typeof first['virtual-size'] !== 'number') {
    throw new Error(`qemu-img info gave no format or virtual size for ${path}`);
  }
  const backingChain = entries.map((e, i) => {
    const parent = entries[i - 1];
    const named =
      i === 0 ? path : (parent?.['full-backing-filename'] ?? parent?.['backing-filename'] ?? e.filename);
    return {
      path: String(named),
      format: typeof e.format === 'string' ? e.format : 'unknown',
      virtualSizeBytes: typeof e['virtual-size'] === 'number' ? e['virtual-size'] : 0,
    };
  });
  return {
    format: first.format,
    virtualSizeBytes: first['virtual-size'],
    actualSizeBytes: typeof first['actual-size'] === 'number' ? first['actual-size'] : null,
    backingChain,
  };
}

/**
 * Reads the image's metadata. `-U` (no locks): the running QEMU may hold the image; `-f`: a raw
 * guest disk that starts with a qcow2 header must never be probed as qcow2 (it could name host files
 * as its backing).
 */
export async function imageInfo(path: string, format: string, options: QemuImgOptions): Promise<ImageInfo> {
  const args = ['info', '--output=json', '--backing-chain', '-U', '-f', format, path];
  const out = await runCommand(options.qemuImg, args, options.timeoutMs, undefined, {
    signal: options.signal,
  });
  return parseImageInfo(out, path);
}

/** The first MiB holds an MBR, a GPT header and 128 entries: one qemu-img run for the usual disk. */
const HEAD_BYTES = 1024 * 1024;

/**
 * A DiskReader over an image through `qemu-img dd -U` (which reads any format, unlocked) into a
 * temporary raw file. The first MiB is read once and kept; `close` removes the directory.
 */
export async function imageReader(
  path: string,
  format: string,
  options: QemuImgOptions,
): Promise<{ read: DiskReader; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-inspect-'));
  let n = 0;
  const dd = async (skip: number, count: number): Promise<Buffer> => {
    const out = join(dir, `read-${n++}.raw`);
    const args = ['dd', '-U', '-f', format, '-O', 'raw', 'bs=512', `skip=${skip}`, `count=${count}`];
    await runCommand(options.qemuImg, [...args, `if=${path}`, `of=${out}`], options.timeoutMs, undefined, {
      signal: options.signal,
    });
    const data = await readFile(out);
    await rm(out, { force: true });
    return data;
  };
  let head: Promise<Buffer> | undefined;
  const read: DiskReader = async (offset, length) => {
    head ??= dd(0, HEAD_BYTES / 512);
    const cached = await head;
    // A head shorter than asked for is the whole disk.
    if (offset + length <= HEAD_BYTES || cached.length < HEAD_BYTES)
      return cached.subarray(offset, offset + length);
    const skip = Math.floor(offset / 512);
    const data = await dd(skip, Math.ceil((offset + length) / 512) - skip);
    return data.subarray(offset - skip * 512, offset - skip * 512 + length);
  };
  return { read, close: () => rm(dir, { recursive: true, force: true }) };
}
