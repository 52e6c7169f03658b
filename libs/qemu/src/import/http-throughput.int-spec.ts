import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HttpsFileServer, MiB, patternedRaw, runTool } from '@ferry/testing';
import { compareImages } from '../img/qemu-img';
import { serveUrl } from './curl-server';
import { openImportSource } from './open-import-source';
import { startNbdServer } from './nbd-server';

const run = promisify(execFile);
const SIZE = 512 * MiB;
const COOKIE = 'vmware_soap_session="bench"';
const ROUNDS = Number(process.env['FERRY_IMPORT_BENCH'] ?? 0) || 1;

/**
 * The measurements in libs/qemu/README.md ("Measured"): one 512 MiB raw (every other MiB data) over
 * HTTPS from the test server, read by each way there is. Only with FERRY_IMPORT_BENCH=<rounds> (each
 * round moves about 4 GiB); each way's result must still be the disk. (b) needs qemu-block-extra.
 */
(process.env['FERRY_IMPORT_BENCH'] ? describe : describe.skip)('streaming import throughput (bench)', () => {
  let dir: string;
  let server: HttpsFileServer;
  const rates: Record<string, string> = {};
  const url = (f: string) => server.url(f);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-import-bench-'));
    await mkdir(join(dir, 'web'));
    const offsets = Array.from({ length: SIZE / MiB / 2 }, (_, i) => i * 2 * MiB);
    await patternedRaw(join(dir, 'web', 'disk-flat.vmdk'), SIZE, offsets);
    await writeFile(
      join(dir, 'web', 'disk.vmdk'),
      `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\nRW ${SIZE / 512} VMFS "disk-flat.vmdk"\n`,
    );
    await writeFile(join(dir, 'cookie'), COOKIE);
    server = await HttpsFileServer.start({ root: join(dir, 'web'), cookie: COOKIE });
  }, 120_000);
  afterAll(async () => {
    console.log(
      Object.entries(rates)
        .map(([k, v]) => `${k}: ${v} MiB/s`)
        .join('\n'),
    );
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs `fn` (which writes `out` as qcow2) ROUNDS times, checks `out` is the disk each time, and records
   * the median MiB/s with the range (the machine is shared: single runs vary by half).
   */
  async function timed(name: string, fn: (out: string) => Promise<unknown>, hangs = false) {
    const out = join(dir, 'out.qcow2');
    const raw = { path: join(dir, 'web', 'disk-flat.vmdk'), format: 'raw' };
    const each: number[] = [];
    let hung = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = process.hrtime.bigint();
      // qemu's https driver sometimes stops at the end of the transfer: counted, not fatal.
      const ok = await fn(out).then(
        () => true,
        (err: { killed?: boolean }) => {
          if (!hangs || !err.killed) throw err;
          return false;
        },
      );
      if (!ok) {
        hung++;
        continue;
      }
      each.push(SIZE / MiB / (Number(process.hrtime.bigint() - started) / 1e9));
      const same = await compareImages(
        raw,
        { path: out, format: 'qcow2' },
        { qemuImg: 'qemu-img', timeoutMs: 120_000 },
      );
      expect(same).toEqual({ identical: true });
      await rm(out, { force: true });
    }
    expect(each.length).toBeGreaterThan(0);
    each.sort((a, b) => a - b);
    const median = each[Math.floor(each.length / 2)]!;
    const range = `${median.toFixed(0)} (${each[0]!.toFixed(0)}–${each.at(-1)!.toFixed(0)})`;
    rates[name] = hung ? `${range}, ${hung} of ${ROUNDS} hung` : range;
  }
  const convert = (image: string, format: string, out: string, cwd?: string) =>
    run('qemu-img', ['convert', '-f', format, '-O', 'qcow2', image, out], {
      timeout: 60_000,
      killSignal: 'SIGKILL',
      cwd,
    });
  const session = () => ({ cookieFile: join(dir, 'cookie'), caFile: server.caFile });

  it('(a) nbdkit curl → qemu-img convert (openImportSource, a raw file)', async () => {
    const source = await openImportSource(
      { kind: 'http', url: url('disk-flat.vmdk'), session: session() },
      { timeoutMs: 30_000 },
    );
    await timed('(a) nbdkit curl, raw', (out) => convert(source.image, source.format, out));
    await source.close();
  }, 900_000);

  it('(a) the descriptor + flat pair: raw from nbdkit, vmdk driver in qemu-img, vmdk driver in qemu-nbd', async () => {
    const direct = await openImportSource(
      { kind: 'http', url: url('disk.vmdk'), session: session() },
      { timeoutMs: 30_000 },
    );
    expect(direct.format).toBe('raw');
    await timed('(a) descriptor+flat, raw from nbdkit (what openImportSource does)', (out) =>
      convert(direct.image, 'raw', out),
    );
    await direct.close();

    const nbd = await serveUrl(
      url('disk-flat.vmdk'),
      session(),
      false,
      { dir, name: 'flat' },
      { timeoutMs: 30_000 },
    );
    try {
      await viaVmdkDriver(nbd.uri);
    } finally {
      await nbd.stop();
    }
  }, 900_000);

  /** The same extent named in a local descriptor, read by qemu's vmdk driver: in qemu-img, in qemu-nbd. */
  async function viaVmdkDriver(extent: string) {
    const text = (await readFile(join(dir, 'web', 'disk.vmdk'), 'utf8')).replace(
      '"disk-flat.vmdk"',
      `"${extent}"`,
    );
    await writeFile(join(dir, 'd0.vmdk'), text);
    const spec = `json:${JSON.stringify({ driver: 'vmdk', file: { driver: 'file', filename: 'd0.vmdk' }, 'extents.0': { driver: 'raw', file: { driver: 'nbd' } } })}`;
    await timed('(a) descriptor+flat, vmdk driver in qemu-img', (out) => convert(spec, 'vmdk', out, dir));
    const socket = join(dir, 'disk.sock');
    const args = ['--pdeathsig', 'KILL', '--', 'qemu-nbd', '-r', '-t', '-e', '0', `--socket=${socket}`, spec];
    const qemuNbd = await startNbdServer({
      name: 'qemu-nbd',
      command: 'setpriv',
      args,
      socket,
      cwd: dir,
      timeoutMs: 30_000,
    });
    try {
      await timed('(a) descriptor+flat, vmdk driver in qemu-nbd', (out) => convert(qemuNbd.uri, 'raw', out));
    } finally {
      await qemuNbd.stop();
    }
  }

  it("(b) QEMU's own https driver", async () => {
    const json = {
      'file.driver': 'https',
      'file.url': url('disk-flat.vmdk'),
      'file.sslverify': 'off',
      'file.cookie': COOKIE,
    };
    await timed(
      "(b) qemu's https driver (sslverify off: it takes no CA file)",
      (out) => convert(`json:${JSON.stringify(json)}`, 'raw', out),
      true,
    );
  }, 900_000);

  it('(c) curl to a file, then qemu-img convert', async () => {
    const copy = join(dir, 'copy.raw');
    await timed('(c) curl to a file, then convert', async (out) => {
      await run(
        'curl',
        [
          '-sS',
          '--fail',
          '--cacert',
          server.caFile,
          '-H',
          `Cookie: ${COOKIE}`,
          '-o',
          copy,
          url('disk-flat.vmdk'),
        ],
        { timeout: 300_000 },
      );
      await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', copy, out]);
    });
    await rm(copy);
  }, 900_000);
});
