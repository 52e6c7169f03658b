import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageInfo } from '../img/qemu-img';
import { serveUrl } from './curl-server';
import type { HttpTarget } from './http-probe';
import { fetchRange, probeRemoteFile, redactUrl, resolveUrl } from './http-probe';
import type { ImportSourceSpec, OpenImportOptions, OpenedSource } from './import-source';
import { Cleanup, ImportSourceError, formatBytes, qemuImgFailure } from './import-source';
import type { NbdServer } from './nbd-server';
import { startNbdServer } from './nbd-server';
import { openOvaMember, pickDisk } from './ova-source';
import { isOvf, parseOvfDisks } from './ovf-descriptor';
import type { RemoteContext } from './remote-vmdk';
import { openRemoteVmdk } from './remote-vmdk';
import { isTarHeader } from './tar-index';
import { MAX_DESCRIPTOR_BYTES, isVmdkDescriptor } from './vmdk-descriptor';

type HttpSpec = Extract<ImportSourceSpec, { kind: 'http' }>;

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_OVF_BYTES = 1024 * 1024;

function checkUrl(spec: HttpSpec): void {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new ImportSourceError('unsupported', 'the source URL is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && spec.allowHttp))
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(url)}: only https${spec.allowHttp ? ' and http' : ''} URLs are read`,
    );
  if (url.username || url.password)
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(url)}: a URL must not carry a user name or password`,
    );
}

/** The servers, probes and private directory of one remote source. */
function context(spec: HttpSpec, dir: string, cleanup: Cleanup, options: OpenImportOptions): RemoteContext {
  const target = (url: string): HttpTarget => ({
    url,
    session: spec.session,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  const started = (server: NbdServer) => {
    cleanup.defer(() => server.stop());
    return server;
  };
  return {
    dir,
    qemu: { qemuImg: options.qemuImg ?? 'qemu-img', timeoutMs: options.timeoutMs, signal: options.signal },
    probe: (url, headBytes) => probeRemoteFile(target(url), headBytes),
    serve: async (url, name) =>
      started(await serveUrl(url, spec.session, spec.allowHttp === true, { dir, name }, options)),
    // setpriv --pdeathsig: qemu-nbd has no --exit-with-parent, and must not outlive us either.
    serveQemu: async (json, name) =>
      started(
        await startNbdServer({
          name: 'qemu-nbd',
          command: 'setpriv',
          args: [
            '--pdeathsig',
            'KILL',
            '--',
            options.qemuNbd ?? 'qemu-nbd',
            '--read-only',
            '--persistent',
            '--shared=0',
            `--socket=${join(dir, `${name}.sock`)}`,
            `json:${JSON.stringify(json)}`,
          ],
          socket: join(dir, `${name}.sock`),
          cwd: dir,
          timeoutMs: options.timeoutMs,
          signal: options.signal,
        }),
      ),
  };
}

/** A remote file that is no descriptor, OVA or OVF: served as it is, its format probed once. */
async function openPlain(
  ctx: RemoteContext,
  url: string,
  sizeBytes: number,
): Promise<Omit<OpenedSource, 'close'>> {
  const server = await ctx.serve(url, 'image');
  const info = await imageInfo(server.uri, ctx.qemu).catch((err: unknown) => {
    throw qemuImgFailure(err, `cannot read ${redactUrl(url)}`);
  });
  const outside = info.backingFile ?? info.dataFile;
  if (outside !== undefined)
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(url)} names another file (${outside}); only a VMDK descriptor's chain is followed`,
    );
  const kind = info.vmdk ? `vmdk ${info.vmdk.createType}` : info.format;
  const name = new URL(url).pathname.split('/').pop();
  return {
    image: server.uri,
    format: info.format,
    virtualSizeBytes: info.virtualSizeBytes,
    layers: [
      `${kind}: ${name} (${formatBytes(info.virtualSizeBytes)}) over ${new URL(url).protocol.replace(':', '')}`,
    ],
    sourceBytes: sizeBytes,
  };
}

/**
 * Opens a remote file for one streaming pass: nothing is downloaded first. Each remote file is an
 * nbdkit curl export on a unix socket in a private directory (0700); what qemu-img reads is that
 * export, a json: spec over it (an OVA's member), or a qemu-nbd over several (a VMDK chain).
 */
export async function openHttpSource(spec: HttpSpec, options: OpenImportOptions): Promise<OpenedSource> {
  checkUrl(spec);
  const cleanup = new Cleanup();
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'ferry-import-'));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
  cleanup.expireAfter(options.lifetimeMs ?? DAY_MS);
  const onAbort = () => void cleanup.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await chmod(dir, 0o700);
    const ctx = context(spec, dir, cleanup, options);
    const first = await ctx.probe(spec.url, MAX_DESCRIPTOR_BYTES);
    const opened = await openProbed(spec, ctx, first, options);
    return { ...opened, close: () => cleanup.close() };
  } catch (err) {
    await cleanup.close();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function openProbed(
  spec: HttpSpec,
  ctx: RemoteContext,
  first: Awaited<ReturnType<RemoteContext['probe']>>,
  options: OpenImportOptions,
): Promise<Omit<OpenedSource, 'close'>> {
  const url = spec.url;
  const target: HttpTarget = {
    url,
    session: spec.session,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  };
  if (isVmdkDescriptor(first.head)) return openRemoteVmdk(ctx, url, first);
  if (isTarHeader(first.head)) {
    const server = await ctx.serve(url, 'ova');
    const read = (offset: number, length: number) =>
      offset >= first.sizeBytes
        ? Promise.resolve(Buffer.alloc(0))
        : fetchRange(target, offset, Math.min(length, first.sizeBytes - offset));
    const tar = { name: redactUrl(url), sizeBytes: first.sizeBytes, read, fileNode: server.node };
    return openOvaMember(tar, spec.member, options);
  }
  if (isOvf(first.head)) {
    if (first.sizeBytes > MAX_OVF_BYTES)
      throw new ImportSourceError('unsupported', `${redactUrl(url)} is too large for an OVF`);
    const xml =
      first.sizeBytes > first.head.length ? await fetchRange(target, 0, first.sizeBytes) : first.head;
    let disks;
    try {
      disks = parseOvfDisks(xml.toString('utf8'));
    } catch (err) {
      throw new ImportSourceError('corrupt', `${redactUrl(url)}: ${(err as Error).message}`);
    }
    const disk = pickDisk(disks, spec.member, redactUrl(url));
    const diskUrl = resolveUrl(disk.file, url);
    const opened = await openProbed(
      { ...spec, url: diskUrl, member: undefined },
      ctx,
      await ctx.probe(diskUrl, MAX_DESCRIPTOR_BYTES),
      options,
    );
    return {
      ...opened,
      layers: [
        `ovf ${redactUrl(url)}: disk ${disk.index} of ${disks.length} is ${disk.file}`,
        ...opened.layers,
      ],
    };
  }
  if (spec.member !== undefined)
    throw new ImportSourceError(
      'unsupported',
      `${redactUrl(url)} is neither an OVA nor an OVF: it has no disk ${spec.member}`,
    );
  return openPlain(ctx, url, first.sizeBytes);
}
