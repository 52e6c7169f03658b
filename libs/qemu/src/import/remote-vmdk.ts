import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageInfo } from '../img/qemu-img';
import type { RemoteFile } from './http-probe';
import { redactUrl, resolveUrl } from './http-probe';
import type { OpenedSource } from './import-source';
import { ImportSourceError, formatBytes, qemuImgFailure } from './import-source';
import type { NbdServer } from './nbd-server';
import type { VmdkDescriptor } from './vmdk-descriptor';
import {
  MAX_DESCRIPTOR_BYTES,
  isVmdkDescriptor,
  parseVmdkDescriptor,
  rewriteVmdkDescriptor,
} from './vmdk-descriptor';

/** What a remote VMDK needs from the source that opens it (http-source's context). */
export interface RemoteContext {
  dir: string;
  probe(url: string, headBytes: number): Promise<RemoteFile>;
  /** An nbdkit curl export of `url`, stopped with the source. */
  serve(url: string, name: string): Promise<NbdServer>;
  /** qemu-nbd (cwd `dir`) on a json: spec, exported raw; stopped with the source. */
  serveQemu(spec: object, name: string): Promise<NbdServer>;
  qemu: { qemuImg: string; timeoutMs: number; signal?: AbortSignal };
}

type Served = { server: NbdServer; sizeBytes: number };
type Layer =
  | { kind: 'descriptor'; url: string; text: string; desc: VmdkDescriptor; extents: Served[]; bytes: number }
  | { kind: 'sparse'; url: string; server: NbdServer; bytes: number };

/** A delta chain deeper than this is broken (a loop through renamed files), not a real one. */
const MAX_CHAIN = 32;
const MAX_EXTENTS = 512;
/** Each extent costs an nbdkit; they start a few at a time. */
const PARALLEL_STARTS = 4;

const fileName = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() ?? url);

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** One descriptor's extents, each checked against its size and served by its own nbdkit. */
async function serveExtents(ctx: RemoteContext, url: string, desc: VmdkDescriptor, layer: number) {
  if (desc.extents.length > MAX_EXTENTS)
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(url)} has ${desc.extents.length} extents (at most ${MAX_EXTENTS})`,
    );
  return mapLimit(desc.extents, PARALLEL_STARTS, async (extent, i): Promise<Served> => {
    const extentUrl = resolveUrl(extent.file, url);
    const { sizeBytes } = await ctx.probe(extentUrl, 0);
    const needs =
      extent.type === 'FLAT' || extent.type === 'VMFS' ? (extent.offsetSectors + extent.sectors) * 512 : 0;
    if (sizeBytes < needs)
      throw new ImportSourceError(
        'corrupt',
        `${redactUrl(extentUrl)} holds ${sizeBytes} bytes; the descriptor needs ${needs}`,
      );
    return { server: await ctx.serve(extentUrl, `l${layer}-e${i}`), sizeBytes };
  });
}

/** The chain from `url` down: descriptors (with served extents), ending at one binary sparse VMDK or none. */
async function resolveChain(ctx: RemoteContext, url: string, first: RemoteFile): Promise<Layer[]> {
  const chain: Layer[] = [];
  for (let file = first; ;) {
    if (chain.length >= MAX_CHAIN)
      throw new ImportSourceError('corrupt', `${redactUrl(url)}: a chain of more than ${MAX_CHAIN} VMDKs`);
    if (!isVmdkDescriptor(file.head)) {
      const server = await ctx.serve(url, `l${chain.length}`);
      // Its own parent (an embedded parentFileNameHint) would be a host path: not followed, refused.
      const info = await imageInfo(server.uri, ctx.qemu, { format: 'vmdk' }).catch((err: unknown) => {
        throw qemuImgFailure(err, `cannot read ${redactUrl(url)}`);
      });
      if (info.backingFile !== undefined)
        throw new ImportSourceError(
          'unsupported',
          `${redactUrl(url)} names a parent of its own (${info.backingFile})`,
        );
      chain.push({ kind: 'sparse', url, server, bytes: file.sizeBytes });
      return chain;
    }
    if (file.sizeBytes > MAX_DESCRIPTOR_BYTES)
      throw new ImportSourceError(
        'corrupt',
        `${redactUrl(url)} starts like a VMDK descriptor but holds ${file.sizeBytes} bytes`,
      );
    const text = file.head.toString('utf8');
    let desc: VmdkDescriptor;
    try {
      desc = parseVmdkDescriptor(text);
    } catch (err) {
      throw new ImportSourceError('unsupported', `${redactUrl(url)}: ${(err as Error).message}`);
    }
    const extents = await serveExtents(ctx, url, desc, chain.length);
    const bytes = extents.reduce((sum, e) => sum + e.sizeBytes, file.sizeBytes);
    chain.push({ kind: 'descriptor', url, text, desc, extents, bytes });
    if (!desc.parent) return chain;
    const parent = resolveUrl(desc.parent, url);
    if (chain.some((l) => l.url === parent))
      throw new ImportSourceError('corrupt', `${redactUrl(url)}: its parent chain loops`);
    file = await ctx.probe(parent, MAX_DESCRIPTOR_BYTES).catch((err: unknown) => {
      if (err instanceof ImportSourceError && err.reason === 'not-found')
        throw new ImportSourceError(
          'not-found',
          `the parent ${desc.parent} of ${redactUrl(url)} is missing: ${err.message}`,
        );
      throw err;
    });
    url = parent;
  }
}

/**
 * The qemu options of layer `i` and below. Each descriptor is rewritten into `d<i>.vmdk` in the private
 * directory, naming its extents' NBD URIs and, as parent, `d<i+1>.vmdk`; its extents are opened as
 * `{"driver":"raw","file":{"driver":"nbd"}}`, for Debian's qemu 7.2 (CVE-2024-4467) takes a name in an
 * extent line for a local file unless the options name the driver. The name is only taken whole when
 * the descriptor's directory is empty, hence the relative `d<i>.vmdk` and qemu-nbd's cwd.
 */
async function layerNode(
  ctx: RemoteContext,
  chain: Layer[],
  i: number,
): Promise<Record<string, unknown> | null> {
  const layer = chain[i];
  if (!layer) return null;
  // Its child names it by URI (parentFileNameHint), and qemu hands that name down to the node, so
  // the nbd node must take the server from the name: given one as well, it refuses both.
  if (layer.kind === 'sparse') return { driver: 'vmdk', file: { driver: 'nbd' }, backing: null };
  const next = chain[i + 1];
  const parent = next?.kind === 'descriptor' ? `d${i + 1}.vmdk` : next?.server.uri;
  const rewritten = rewriteVmdkDescriptor(layer.text, {
    extents: layer.extents.map((e) => e.server.uri),
    parent,
  });
  await writeFile(join(ctx.dir, `d${i}.vmdk`), rewritten, { mode: 0o600 });
  const node: Record<string, unknown> = { driver: 'vmdk', file: { driver: 'file', filename: `d${i}.vmdk` } };
  layer.extents.forEach((_, n) => (node[`extents.${n}`] = { driver: 'raw', file: { driver: 'nbd' } }));
  node['backing'] = await layerNode(ctx, chain, i + 1);
  return node;
}

function describe(layer: Layer, i: number, protocol: string): string {
  const parentOf = i > 0 ? `, parent of layer ${i}` : '';
  if (layer.kind === 'sparse') return `vmdk (sparse): ${fileName(layer.url)} over ${protocol}${parentOf}`;
  const extents = layer.desc.extents.map((e) => e.file.split('/').pop()).join(', ');
  return `vmdk ${layer.desc.createType}: ${fileName(layer.url)} + ${extents} (${formatBytes(layer.desc.sizeBytes)}) over ${protocol}${parentOf}`;
}

/**
 * A remote VMDK descriptor and its delta chain. One FLAT or VMFS extent at offset 0 and no parent
 * (ESXi's `web01.vmdk` + `web01-flat.vmdk`) is read as raw straight from its nbdkit; anything else
 * goes through qemu's vmdk driver in a qemu-nbd, whose export is raw.
 */
export async function openRemoteVmdk(
  ctx: RemoteContext,
  url: string,
  first: RemoteFile,
): Promise<Omit<OpenedSource, 'close'>> {
  const chain = await resolveChain(ctx, url, first);
  const protocol = new URL(url).protocol.replace(':', '');
  const layers = chain.map((l, i) => describe(l, i, protocol));
  const sourceBytes = chain.reduce((sum, l) => sum + l.bytes, 0);
  const top = chain[0]!;
  const only =
    top.kind === 'descriptor' && chain.length === 1 && top.desc.extents.length === 1
      ? top.desc.extents[0]!
      : undefined;
  if (
    top.kind === 'descriptor' &&
    only &&
    (only.type === 'FLAT' || only.type === 'VMFS') &&
    only.offsetSectors === 0
  ) {
    const { server, sizeBytes } = top.extents[0]!;
    const size = top.desc.sizeBytes;
    // A -flat file longer than the descriptor says is cut to the disk's size.
    const image =
      sizeBytes === size ? server.uri : `json:${JSON.stringify({ driver: 'raw', size, file: server.node })}`;
    return {
      image,
      format: 'raw',
      virtualSizeBytes: size,
      layers: [`${layers[0]}, read as raw`],
      sourceBytes,
    };
  }
  const server = await ctx.serveQemu((await layerNode(ctx, chain, 0))!, 'disk').catch((err: unknown) => {
    // The json: spec in qemu-nbd's words is ours, not news to the reader.
    const reason = (err as Error).message.replace(/Failed to blk_new_open 'json:\{.*\}': /, '');
    throw new ImportSourceError('corrupt', `qemu cannot read ${redactUrl(url)}: ${reason}`);
  });
  const info = await imageInfo(server.uri, ctx.qemu, { format: 'raw' }).catch((err: unknown) => {
    throw qemuImgFailure(err, `cannot read ${redactUrl(url)}`);
  });
  return { image: server.uri, format: 'raw', virtualSizeBytes: info.virtualSizeBytes, layers, sourceBytes };
}
