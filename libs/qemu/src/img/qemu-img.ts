import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, runCommand } from '@ferry/platform';
import type { ImageInfo } from './image-info';
import { parseImageInfo } from './image-info';

export interface QemuImgOptions {
  /** The qemu-img binary. */
  qemuImg: string;
  /** Limit of each qemu-img run, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ImageInfoOptions {
  /**
   * The image's format (`-f`). Give it for a guest disk: a raw disk that starts with a qcow2 header
   * must never be probed as qcow2 (it could name host files as its backing).
   */
  format?: string;
  /** The whole backing chain (`--backing-chain`), not only the image. */
  backingChain?: boolean;
}

export interface CreateImageSpec {
  format: string;
  /** Virtual size in bytes; taken from the backing file when there is one and this is unset. */
  sizeBytes?: number;
  /** An overlay on this image (`-b path -F format`). */
  backing?: { path: string; format: string };
}

/** What a service needs of qemu-img; a unit spec stubs it. */
export interface QemuImg {
  info(path: string, how?: ImageInfoOptions): Promise<ImageInfo>;
  create(path: string, spec: CreateImageSpec): Promise<void>;
  commit(overlayPath: string): Promise<void>;
  convert(source: string, target: string, spec: ConvertSpec): Promise<void>;
  compare(a: { path: string; format: string }, b: { path: string; format: string }): Promise<CompareResult>;
  measure(image: string, format: string, targetFormat: 'qcow2' | 'raw'): Promise<ImageMeasure>;
}

/** The real qemu-img, every run through `runCommand` with `options.timeoutMs`. */
export function createQemuImg(options: QemuImgOptions): QemuImg {
  return {
    info: (path, how) => imageInfo(path, options, how),
    create: (path, spec) => createImage(path, spec, options),
    commit: (overlayPath) => commitImage(overlayPath, options),
    convert: (source, target, spec) => convertImage(source, target, spec, options),
    compare: (a, b) => compareImages(a, b, options),
    measure: (image, format, targetFormat) => measureImage(image, format, targetFormat, options),
  };
}

/** `qemu-img create -q`; rejects with the CommandError of a failed run. */
export async function createImage(
  path: string,
  spec: CreateImageSpec,
  options: QemuImgOptions,
): Promise<void> {
  const args = ['create', '-q', '-f', spec.format];
  if (spec.backing) args.push('-b', spec.backing.path, '-F', spec.backing.format);
  args.push(path);
  if (spec.sizeBytes !== undefined) args.push(String(spec.sizeBytes));
  await runCommand(options.qemuImg, args, options.timeoutMs, undefined, { signal: options.signal });
}

/** `qemu-img commit -q`: writes an overlay's data into its backing file. */
export async function commitImage(overlayPath: string, options: QemuImgOptions): Promise<void> {
  await runCommand(options.qemuImg, ['commit', '-q', overlayPath], options.timeoutMs, undefined, {
    signal: options.signal,
  });
}

/**
 * Reads the image's metadata. `-U` (no locks): a running QEMU may hold the image. Rejects with the
 * CommandError of a failed run, or when the answer has no format or size.
 */
export async function imageInfo(
  path: string,
  options: QemuImgOptions,
  how: ImageInfoOptions = {},
): Promise<ImageInfo> {
  const args = ['info', '--output=json', ...(how.backingChain ? ['--backing-chain'] : []), '-U'];
  if (how.format) args.push('-f', how.format);
  const out = await runCommand(options.qemuImg, [...args, path], options.timeoutMs, undefined, {
    signal: options.signal,
  });
  return parseImageInfo(out, path);
}

/** What a conversion needs on the target: now (`required`), and once every block is written. */
export interface ImageMeasure {
  requiredBytes: number;
  fullyAllocatedBytes: number;
}

/**
 * `qemu-img measure --output=json -f <format> -O <target format>`: the space a conversion of `image`
 * needs, so an import can refuse before it moves a byte. It reads allocation, not data: over a source
 * without block status (nbdkit's curl plugin) every block counts as allocated.
 */
export async function measureImage(
  image: string,
  format: string,
  targetFormat: 'qcow2' | 'raw',
  options: QemuImgOptions,
): Promise<ImageMeasure> {
  const args = ['measure', '--output=json', '-f', format, '-O', targetFormat, image];
  const out = await runCommand(options.qemuImg, args, options.timeoutMs, undefined, {
    signal: options.signal,
  });
  const parsed = JSON.parse(out) as { required?: unknown; 'fully-allocated'?: unknown };
  if (typeof parsed.required !== 'number' || typeof parsed['fully-allocated'] !== 'number')
    throw new Error(`qemu-img measure gave no sizes for ${image}`);
  return { requiredBytes: parsed.required, fullyAllocatedBytes: parsed['fully-allocated'] };
}

/**
 * `qemu-img check -f <format>`: whether an image's metadata is sound (qcow2's tables within the file,
 * a sparse VMDK's grains, …), which `qemu-img info` does not look at. Leaked clusters (exit 3) are
 * sound; a format without checks (exit 63: raw, vpc) is `unchecked`; corruption (2) or a check that could
 * not finish (1) gives qemu-img's first lines.
 */
export async function checkImage(
  path: string,
  format: string,
  options: QemuImgOptions,
): Promise<{ verdict: 'sound' | 'unchecked' } | { verdict: 'corrupt'; lines: string[] }> {
  try {
    await runCommand(
      options.qemuImg,
      ['check', '-q', '-U', '-f', format, path],
      options.timeoutMs,
      undefined,
      {
        signal: options.signal,
      },
    );
    return { verdict: 'sound' };
  } catch (err) {
    if (!(err instanceof CommandError) || err.kind !== 'failed') throw err;
    if (err.exitCode === 3) return { verdict: 'sound' };
    if (err.exitCode === 63) return { verdict: 'unchecked' };
    return { verdict: 'corrupt', lines: err.lines.slice(0, 3) };
  }
}

/** Reads `length` bytes at `offset` of the guest-visible disk; fewer at its end. */
export type ImageRead = (offset: number, length: number) => Promise<Buffer>;

/** The first MiB holds an MBR, a GPT header and 128 entries: one qemu-img run for the usual disk. */
const HEAD_BYTES = 1024 * 1024;

/**
 * Reads an image through `qemu-img dd -U` (which reads any format, unlocked) into a temporary raw
 * file. The first MiB is read once and kept; `close` removes the directory.
 */
export async function imageReader(
  path: string,
  format: string,
  options: QemuImgOptions,
): Promise<{ read: ImageRead; close: () => Promise<void> }> {
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
  const read: ImageRead = async (offset, length) => {
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

export interface ConvertSpec {
  /** The source's format (`-f`): never probed, for the reason `ImageInfoOptions.format` gives. */
  sourceFormat: string;
  /** The result's format (`-O`). */
  format: string;
  /** Called as qemu-img reports progress, with the share done (0 to 100, rising). */
  onProgress?: (percent: number) => void;
}

/** `qemu-img convert -p` prints `    (12.34/100%)` and a carriage return as it goes. */
const PROGRESS = /\((\d+(?:\.\d+)?)\/100%\)/g;

/** The last share of the work qemu-img reports in `text`, or undefined when it reports none. */
export function lastProgress(text: string): number | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(PROGRESS)) last = Number(m[1]);
  return last;
}

/** A stdout listener that calls `report` with each share of `-p` progress that is higher than the last. */
function risingProgress(report: (percent: number) => void): (chunk: string) => void {
  let reported = -1;
  return (chunk) => {
    const percent = lastProgress(chunk);
    if (percent !== undefined && percent > reported) report((reported = percent));
  };
}

/**
 * `qemu-img convert -p -f <source format> -O <format>`: the guest-visible bytes of `source` (its whole
 * backing chain, any extents its descriptor names) into one image at `target`. Rejects with the
 * CommandError of a failed run, whose lines carry qemu-img's reason.
 */
export async function convertImage(
  source: string,
  target: string,
  spec: ConvertSpec,
  options: QemuImgOptions,
): Promise<void> {
  const onStdout = spec.onProgress && risingProgress(spec.onProgress);
  const args = ['convert', '-p', '-f', spec.sourceFormat, '-O', spec.format, source, target];
  await runCommand(options.qemuImg, args, options.timeoutMs, undefined, {
    signal: options.signal,
    onStdout,
    dieWithParent: true,
  });
}

/**
 * What a compare found: the same guest-visible bytes, the first offset where they differ (sector
 * aligned, as qemu-img reports it), or different virtual sizes (then no offset).
 */
export type CompareResult = { identical: true } | { identical: false; firstDifferenceAt: number | null };

/**
 * Whether two images hold the same guest-visible disk: the same virtual size, then `qemu-img compare
 * -U -f <a format> -F <b format> a b`. Not `-s`: strict mode also compares allocation, so a sparse raw
 * and its qcow2 copy would differ. Exit 1 (a mismatch) is an answer; any other failure rejects.
 */
export async function compareImages(
  a: { path: string; format: string },
  b: { path: string; format: string },
  options: QemuImgOptions & { onProgress?: (percent: number) => void },
): Promise<CompareResult> {
  const [ia, ib] = await Promise.all([
    imageInfo(a.path, options, { format: a.format }),
    imageInfo(b.path, options, { format: b.format }),
  ]);
  if (ia.virtualSizeBytes !== ib.virtualSizeBytes) return { identical: false, firstDifferenceAt: null };
  const args = [
    'compare',
    ...(options.onProgress ? ['-p'] : []),
    '-U',
    '-f',
    a.format,
    '-F',
    b.format,
    a.path,
    b.path,
  ];
  try {
    await runCommand(options.qemuImg, args, options.timeoutMs, undefined, {
      signal: options.signal,
      onStdout: options.onProgress && risingProgress(options.onProgress),
      dieWithParent: true,
    });
    return { identical: true };
  } catch (err) {
    if (!(err instanceof CommandError) || err.exitCode !== 1) throw err;
    const offset = /offset (\d+)/.exec(err.stdout)?.[1];
    return { identical: false, firstDifferenceAt: offset === undefined ? null : Number(offset) };
  }
}

/** Internal snapshots of a qcow2 image (`qemu-img snapshot`): metadata only, instant at any size. */
export type SnapshotAction = 'create' | 'apply' | 'delete';

const SNAPSHOT_FLAGS: Record<SnapshotAction, string> = { create: '-c', apply: '-a', delete: '-d' };

/**
 * Creates, applies (reverts the image to) or deletes the internal snapshot `name` of a qcow2 image.
 * The image must not be open elsewhere (qemu-img takes its write lock).
 */
export async function snapshotImage(
  path: string,
  action: SnapshotAction,
  name: string,
  options: QemuImgOptions,
): Promise<void> {
  // qemu-img 7.2's `snapshot` takes no -f: it probes, which is safe on Ferry's own qcow2 files.
  await runCommand(
    options.qemuImg,
    ['snapshot', '-q', SNAPSHOT_FLAGS[action], name, path],
    options.timeoutMs,
    undefined,
    {
      signal: options.signal,
    },
  );
}

/** The names of a qcow2 image's internal snapshots. */
export async function listImageSnapshots(path: string, options: QemuImgOptions): Promise<string[]> {
  const info = JSON.parse(
    await runCommand(
      options.qemuImg,
      ['info', '--output=json', '-f', 'qcow2', path],
      options.timeoutMs,
      undefined,
      { signal: options.signal },
    ),
  ) as { snapshots?: { name: string }[] };
  return (info.snapshots ?? []).map((s) => s.name);
}
