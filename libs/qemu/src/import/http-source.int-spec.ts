import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import type { HttpsFileServerOptions } from '@ferry/testing';
import {
  HttpsFileServer,
  MiB,
  buildOva,
  freePort,
  runningProcessesNaming,
  patternedRaw,
  runTool,
  writePattern,
} from '@ferry/testing';
import { compareImages, convertImage } from '../img/qemu-img';
import type { HttpSession, OpenedSource } from './import-source';
import type { ImportSourceError } from './import-source';
import { openImportSource } from './open-import-source';

const qemu = { qemuImg: 'qemu-img', timeoutMs: 120_000 };
const COOKIE = 'vmware_soap_session="52a8c0de-good"';
const QUERY = 'dcPath=dc1&dsName=ds1';
const toVmdk = (from: string, to: string, subformat: string) =>
  runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', `subformat=${subformat}`, from, to]);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as ImportSourceError,
  );

/**
 * Remote sources over a real TLS server of the test's own (cookie required, vSphere's query on every
 * URL), read by the real nbdkit, qemu-nbd and qemu-img.
 */
describe('openImportSource (https)', () => {
  let dir: string;
  let web: string;
  let tmp: string;
  let raw: string;
  let cookieFile: string;
  let session: HttpSession;
  const servers: HttpsFileServer[] = [];
  const opened: OpenedSource[] = [];
  const SIZE = 16 * MiB;

  const serve = async (options: Partial<HttpsFileServerOptions> = {}) => {
    const server = await HttpsFileServer.start({
      root: web,
      cookie: COOKIE,
      requireQuery: QUERY,
      ...options,
    });
    servers.push(server);
    session = { cookieFile, caFile: server.caFile, renewSeconds: 1 };
    return server;
  };
  const url = (server: HttpsFileServer, file: string) => server.url(`${file}?${QUERY}`);
  const open = async (u: string, how: { session?: HttpSession; member?: number | string } = {}) => {
    const source = await openImportSource(
      { kind: 'http', url: u, session: how.session ?? session, member: how.member },
      { timeoutMs: 30_000, tmpDir: tmp },
    );
    opened.push(source);
    return source;
  };
  const importsAs = async (source: OpenedSource, expected: string) => {
    const out = join(dir, 'out.qcow2');
    await convertImage(source.image, out, { sourceFormat: source.format, format: 'qcow2' }, qemu);
    const result = await compareImages(
      { path: expected, format: 'raw' },
      { path: out, format: 'qcow2' },
      qemu,
    );
    await rm(out);
    return result.identical;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-import-https-'));
    [web, tmp] = [join(dir, 'web'), join(dir, 'tmp')];
    await Promise.all([mkdir(web), mkdir(tmp)]);
    raw = join(web, 'disk.raw');
    await patternedRaw(raw, SIZE, [0, 3 * MiB + 4096, 9 * MiB, SIZE - MiB]);
    cookieFile = join(dir, 'cookie');
    await writeFile(cookieFile, `${COOKIE}\n`, { mode: 0o600 });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a raw and a qcow2 with the session cookie; close leaves no server and no file', async () => {
    const server = await serve();
    await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(web, 'disk.qcow2')]);
    const source = await open(url(server, 'disk.raw'));
    expect(source).toMatchObject({ format: 'raw', virtualSizeBytes: SIZE, sourceBytes: SIZE });
    expect(source.image).toMatch(/^nbd\+unix:\/\/\/\?socket=/);
    expect(source.layers).toEqual(['raw: disk.raw (16 MiB) over https']);
    expect(await importsAs(source, raw)).toBe(true);
    const qcow2 = await open(url(server, 'disk.qcow2'));
    expect(qcow2.format).toBe('qcow2');
    expect(await importsAs(qcow2, raw)).toBe(true);

    const running = runningProcessesNaming(tmp);
    expect(running).toHaveLength(2);
    expect(await readdir(tmp)).toHaveLength(2);
    await Promise.all([source.close(), qcow2.close(), source.close()]);
    expect(running.filter((pid) => isProcessRunning(pid))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
    expect(server.requests.every((r) => r.cookie === COOKIE)).toBe(true);
  });

  it('tells a refused session, a missing file and an unreachable server apart', async () => {
    const server = await serve();
    const none = await failure(open(url(server, 'disk.raw'), { session: { caFile: server.caFile } }));
    expect([none?.reason, none?.message]).toEqual([
      'unauthorized',
      `the server refused the session (HTTP 401) for ${server.url('disk.raw')}`,
    ]);
    await writeFile(cookieFile, 'vmware_soap_session="expired"');
    expect((await failure(open(url(server, 'disk.raw'))))?.reason).toBe('unauthorized');
    await writeFile(cookieFile, COOKIE);
    expect((await failure(open(url(server, 'nothing.raw'))))?.reason).toBe('not-found');
    const closed = await failure(open(`https://127.0.0.1:${await freePort()}/disk.raw`));
    expect([closed?.reason, closed?.message]).toEqual([
      'unreachable',
      expect.stringContaining('ECONNREFUSED'),
    ]);
    const untrusted = await failure(open(url(server, 'disk.raw'), { session: { cookieFile } }));
    expect([untrusted?.reason, untrusted?.message]).toEqual(['unreachable', expect.stringContaining('TLS')]);
    const plain = await failure(open(url(server, 'disk.raw').replace('https:', 'http:')));
    expect(plain?.reason).toBe('unsupported');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('refuses a server nbdkit cannot read: one that ignores Range, one that refuses HEAD', async () => {
    const noRange = await serve({ ignoreRange: true });
    const ignored = await failure(open(url(noRange, 'disk.raw')));
    expect([ignored?.reason, ignored?.message]).toEqual([
      'unsupported',
      expect.stringContaining('ignores Range'),
    ]);
    const noHead = await serve({ refuseHead: true });
    const refused = await failure(open(url(noHead, 'disk.raw')));
    expect([refused?.reason, refused?.message]).toEqual([
      'unsupported',
      expect.stringContaining('refuses HEAD'),
    ]);
    expect((await failure(open(url(noHead, 'nothing.raw'))))?.reason).toBe('not-found');
  });

  it("reads ESXi's descriptor + flat pair as raw straight from nbdkit, its query kept", async () => {
    const server = await serve();
    await toVmdk(raw, join(web, 'web01.vmdk'), 'monolithicFlat');
    const esxi = `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\n\nRW ${SIZE / 512} VMFS "web01-flat.vmdk"\n`;
    await writeFile(join(web, 'esxi.vmdk'), esxi);
    for (const [file, kind] of [
      ['web01.vmdk', 'monolithicFlat'],
      ['esxi.vmdk', 'vmfs'],
    ]) {
      const source = await open(url(server, file!));
      expect(source.format).toBe('raw');
      expect(source.image).toMatch(/^nbd\+unix:/);
      expect(source.layers).toEqual([
        `vmdk ${kind}: ${file} + web01-flat.vmdk (16 MiB) over https, read as raw`,
      ]);
      expect(await importsAs(source, raw)).toBe(true);
    }
    expect(
      server.requests.filter((r) => r.path === '/web01-flat.vmdk' && r.status === 206).length,
    ).toBeGreaterThan(0);
  });

  it.each([
    ['monolithicFlat', 'vmdk monolithicFlat: web02.vmdk + web02-flat.vmdk (16 MiB) over https'],
    ['monolithicSparse', 'vmdk (sparse): web02.vmdk over https'],
  ])(
    'reads a delta descriptor over https on a %s parent beside it, through qemu-nbd',
    async (parent, layer) => {
      const server = await serve();
      const child = join(web, 'web02-000001.vmdk');
      await toVmdk(raw, join(web, 'web02.vmdk'), parent);
      const create = ['create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse'];
      await runTool('qemu-img', [...create, '-b', 'web02.vmdk', '-F', 'vmdk', child]);
      expect(await readFile(child, 'utf8')).toContain('parentFileNameHint="web02.vmdk"');
      await writePattern(child, 'vmdk', 0xab, MiB, 64 * 1024);
      const expected = join(dir, 'expected.raw');
      await copyFile(raw, expected);
      await writePattern(expected, 'raw', 0xab, MiB, 64 * 1024);

      const source = await open(url(server, 'web02-000001.vmdk'));
      expect(source.format).toBe('raw');
      expect(source.layers).toEqual([
        'vmdk twoGbMaxExtentSparse: web02-000001.vmdk + web02-000001-s001.vmdk (16 MiB) over https',
        `${layer}, parent of layer 1`,
      ]);
      expect(await importsAs(source, expected)).toBe(true);
      const running = runningProcessesNaming(tmp);
      expect(running.length).toBe(3); // two nbdkit curl, one qemu-nbd
      await source.close();
      expect(running.filter((pid) => isProcessRunning(pid))).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    },
  );

  it('names a missing parent as not-found and an extent qemu cannot read as corrupt', async () => {
    const server = await serve();
    const create = ['create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse'];
    await toVmdk(raw, join(web, 'gone.vmdk'), 'monolithicSparse');
    await runTool('qemu-img', [...create, '-b', 'gone.vmdk', '-F', 'vmdk', join(web, 'orphan.vmdk')]);
    await rm(join(web, 'gone.vmdk'));
    const orphan = await failure(open(url(server, 'orphan.vmdk')));
    expect([orphan?.reason, orphan?.message]).toEqual(['not-found', expect.stringContaining('gone.vmdk')]);
    await writeFile(join(web, 'orphan-s001.vmdk'), Buffer.alloc(64 * 1024, 0x55));
    await writeFile(
      join(web, 'orphan.vmdk'),
      (await readFile(join(web, 'orphan.vmdk'), 'utf8')).replace(/parent.*\n/g, ''),
    );
    const broken = await failure(open(url(server, 'orphan.vmdk')));
    expect([broken?.reason, broken?.message]).toEqual([
      'corrupt',
      expect.stringMatching(
        /^qemu cannot read https:.*orphan\.vmdk: qemu-nbd exited .*: qemu-nbd: Image not in VMDK format$/,
      ),
    ]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("reads an OVA's member in place over https", async () => {
    const server = await serve();
    const second = join(dir, 'second.raw');
    await patternedRaw(second, 8 * MiB, [0, 5 * MiB], 1);
    await toVmdk(raw, join(web, 'vm-disk1.vmdk'), 'streamOptimized');
    await toVmdk(second, join(web, 'vm-disk2.vmdk'), 'streamOptimized');
    await buildOva(web, 'vm', [
      { file: 'vm-disk1.vmdk', capacityBytes: SIZE },
      { file: 'vm-disk2.vmdk', capacityBytes: 8 * MiB },
    ]);
    expect((await failure(open(url(server, 'vm.ova'))))?.message).toContain('2 disks');
    const source = await open(url(server, 'vm.ova'), { member: 2 });
    expect(source.format).toBe('vmdk');
    expect(source.layers[0]).toMatch(
      /^ova member 2 of 2: vm-disk2\.vmdk at offset \d+ of https:\/\/127\.0\.0\.1:\d+\/vm\.ova/,
    );
    expect(await importsAs(source, second)).toBe(true);
  });

  it('finishes a transfer whose connection is cut once in the middle (the retry filter)', async () => {
    const server = await serve({ dropOnceAfterBytes: 6 * MiB });
    const source = await open(url(server, 'disk.raw'));
    expect(await importsAs(source, raw)).toBe(true);
    expect(server.dropped).toBe(true);
  }, 60_000);

  it('finishes a transfer while the session changes under it (the cookie file is read again)', async () => {
    const server = await serve({ bytesPerSecond: 4 * MiB });
    const renewed = 'vmware_soap_session="52a8c0de-renewed"';
    server.whenSent(6 * MiB, () => {
      // Replaced as volume-daemon does: a new file renamed over the old, so no read sees half of it.
      void writeFile(`${cookieFile}.new`, renewed).then(async () => {
        await rename(`${cookieFile}.new`, cookieFile);
        server.acceptCookie(renewed);
      });
    });
    const source = await open(url(server, 'disk.raw'));
    expect(await importsAs(source, raw)).toBe(true);
    const after = server.requests.filter((r) => r.cookie === renewed);
    expect(after.some((r) => r.status === 206)).toBe(true);
    expect(server.requests.some((r) => r.cookie === COOKIE && r.status === 206)).toBe(true);
  }, 60_000);
});
