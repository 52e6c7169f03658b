import { open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { ImageInfo } from '../img/image-info';
import { filesNamedBy } from '../img/image-info';
import { checkImage, imageInfo } from '../img/qemu-img';
import type { ImportSourceSpec, OpenImportOptions, OpenedSource } from './import-source';
import { ImportSourceError, formatBytes, qemuImgFailure } from './import-source';
import { localTar, openOvaMember, pickDisk } from './ova-source';
import { isOvf, parseOvfDisks } from './ovf-descriptor';
import { isTarHeader } from './tar-index';

type FileSpec = Extract<ImportSourceSpec, { kind: 'file' }>;

/** Formats whose metadata `qemu-img check` verifies (a truncated qcow2 passes `info`, not `check`). */
const CHECKED = new Set(['qcow2', 'vmdk', 'vhdx', 'qed']);
const HEAD_BYTES = 64 * 1024;
const MAX_OVF_BYTES = 1024 * 1024;

async function readHead(path: string, length: number): Promise<Buffer> {
  const fd = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fd.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fd.close();
  }
}

/** The real path of a regular file: `not-found` when missing, `unsupported` for a directory or device. */
async function regularFile(path: string): Promise<{ real: string; size: number }> {
  const real = await realpath(path).catch(() => {
    throw new ImportSourceError('not-found', `no such file: ${path}`);
  });
  const st = await stat(real);
  if (!st.isFile()) throw new ImportSourceError('unsupported', `${path} is not a regular file`);
  return { real, size: st.size };
}

/** One entry per layer of the chain, the image first: `vmdk monolithicFlat: a.vmdk + a-flat.vmdk (2 GiB)`. */
function describeChain(chain: ImageInfo['backingChain']): string[] {
  return chain.map((layer, i) => {
    const own =
      layer.vmdk?.extents.map((e) => basename(e.path)).filter((e) => e !== basename(layer.path)) ?? [];
    const kind = layer.vmdk ? `vmdk ${layer.vmdk.createType}` : layer.format;
    const files = [basename(layer.path), ...(own.length ? [own.join(', ')] : [])].join(' + ');
    return `${kind}: ${files} (${formatBytes(layer.virtualSizeBytes)})${i > 0 ? `, backing of layer ${i}` : ''}`;
  });
}

/**
 * A FLAT (or VMFS) extent shorter than its descriptor says is a truncated copy, which qemu would read
 * as zeros past its end and `compare` would call identical: refused as corrupt, naming both sizes.
 */
async function checkFlatExtents(chain: ImageInfo['backingChain'], base: string): Promise<void> {
  for (const layer of chain)
    for (const extent of layer.vmdk?.extents ?? []) {
      if (extent.type !== 'FLAT' && extent.type !== 'VMFS') continue;
      const path = isAbsolute(extent.path) ? extent.path : join(dirname(layer.path) || base, extent.path);
      const size = await stat(path).then(
        (s) => s.size,
        () => {
          throw new ImportSourceError(
            'not-found',
            `extent ${basename(path)} of ${basename(layer.path)} is missing`,
          );
        },
      );
      if (size < extent.virtualSizeBytes)
        throw new ImportSourceError(
          'corrupt',
          `extent ${basename(path)} is truncated: it holds ${formatBytes(size)}, its descriptor ${basename(layer.path)} says ${formatBytes(extent.virtualSizeBytes)}`,
        );
    }
}

/**
 * Opens a local file where it is: OVA members in place, an OVF's disk beside it, any other image
 * by its real path with the format `qemu-img info` finds (probed here once, named at convert). The
 * whole backing chain and every extent must open, and `qemu-img check` must pass where it applies.
 */
export async function openLocalSource(spec: FileSpec, options: OpenImportOptions): Promise<OpenedSource> {
  const { real, size } = await regularFile(spec.path);
  const qemu = {
    qemuImg: options.qemuImg ?? 'qemu-img',
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  };
  const head = await readHead(real, HEAD_BYTES);
  const close = async () => undefined;

  if (isTarHeader(head)) {
    const member = await openOvaMember(localTar(real, size), spec.member, options);
    return { ...member, files: [real], close };
  }
  if (isOvf(head)) {
    if (size > MAX_OVF_BYTES)
      throw new ImportSourceError('unsupported', `${spec.path} is too large for an OVF`);
    let disks;
    try {
      disks = parseOvfDisks((await readHead(real, size)).toString('utf8'));
    } catch (err) {
      throw new ImportSourceError('corrupt', `${spec.path}: ${(err as Error).message}`);
    }
    const disk = pickDisk(disks, spec.member, basename(spec.path));
    if (isAbsolute(disk.file) || /^[a-z][a-z0-9+.-]*:/i.test(disk.file))
      throw new ImportSourceError('unsupported', `${spec.path} names ${disk.file}, not a file beside it`);
    const opened = await openLocalSource({ kind: 'file', path: join(dirname(real), disk.file) }, options);
    const ovf = `ovf ${basename(real)}: disk ${disk.index} of ${disks.length} is ${disk.file}`;
    return { ...opened, layers: [ovf, ...opened.layers], files: [real, ...(opened.files ?? [])] };
  }
  if (spec.member !== undefined)
    throw new ImportSourceError(
      'unsupported',
      `${spec.path} is neither an OVA nor an OVF: it has no disk ${spec.member}`,
    );

  const what = `cannot read ${spec.path}`;
  const info = await imageInfo(real, qemu, { backingChain: true }).catch((err: unknown) => {
    throw qemuImgFailure(err, what);
  });
  if (CHECKED.has(info.format)) {
    const checked = await checkImage(real, info.format, qemu).catch((err: unknown) => {
      throw qemuImgFailure(err, what);
    });
    if (checked.verdict === 'corrupt')
      throw new ImportSourceError(
        'corrupt',
        `${what}: ${checked.lines.map((l) => l.replace(/^qemu-img: /, '')).join('; ')}`,
      );
  }
  await checkFlatExtents(info.backingChain, dirname(real));
  const named = filesNamedBy(info, real);
  const files = [...new Set(await Promise.all(named.map((p) => realpath(p).catch(() => p))))];
  const sizes = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return {
    image: real,
    format: info.format,
    virtualSizeBytes: info.virtualSizeBytes,
    layers: describeChain(info.backingChain.map((l, i) => (i === 0 ? { ...l, path: real } : l))),
    sourceBytes: sizes.reduce((a, b) => a + b, 0),
    files,
    close,
  };
}
