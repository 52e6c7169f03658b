// The ways of reading a remote disk into a local qcow2 (libs/qemu/README.md, "Measured"): one 512 MiB
// raw (every other MiB data) over loopback TLS from HttpsFileServer, read by each way, each result
// compared with the source, one JSON line per way, then ratios against curl-to-a-file-then-convert.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compareImages, convertImage, openImportSource, startNbdServer } from '@ferry/qemu';
import { HttpsFileServer, MiB, patternedRaw } from '@ferry/testing';
import { median } from './load';

/** Rounds of each way; each round moves about 4 GiB over all the ways. */
const ROUNDS = Number(process.env['BENCH_IMPORT_WAYS_ROUNDS'] ?? 3) || 3;
const SIZE = 512 * MiB;
const COOKIE = 'vmware_soap_session="bench"';
/** The deadline of every child run (SIGKILL); the https driver's is shorter, as it can hang at the end. */
const CHILD_MS = 300_000;
const HTTPS_DRIVER_MS = 60_000;
const OPEN = { timeoutMs: 30_000 };
const QEMU_IMG = { qemuImg: 'qemu-img', timeoutMs: CHILD_MS };
const FLOOR = 'curl_then_convert';

type Emit = (line: Record<string, unknown>) => void;
const run = promisify(execFile);
const exec = (file: string, args: string[], cwd?: string, timeout = CHILD_MS) =>
  run(file, args, { cwd, timeout, killSignal: 'SIGKILL', maxBuffer: 16 * MiB });

/** Whether Debian's qemu-block-extra (qemu's curl/https driver) is installed: Ferry does not install it. */
async function hasBlockExtra(): Promise<boolean> {
  try {
    const query = ['-W', '-f=${Status}', 'qemu-block-extra'];
    const { stdout } = await exec('dpkg-query', query, undefined, 10_000);
    return stdout.trim() === 'install ok installed';
  } catch {
    return false;
  }
}

export async function benchImportWays(emit: Emit): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-import-ways-'));
  const web = join(dir, 'web');
  const flat = join(web, 'disk-flat.vmdk');
  const out = join(dir, 'out.qcow2');
  const descriptor = (extent: string) =>
    `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\nRW ${SIZE / 512} VMFS "${extent}"\n`;
  let server: HttpsFileServer | undefined;
  const stops: (() => Promise<void>)[] = [];
  try {
    await mkdir(web);
    const offsets = Array.from({ length: SIZE / MiB / 2 }, (_, i) => i * 2 * MiB);
    await patternedRaw(flat, SIZE, offsets);
    await writeFile(join(web, 'disk.vmdk'), descriptor('disk-flat.vmdk'));
    await writeFile(join(dir, 'cookie'), COOKIE);
    const srv = (server = await HttpsFileServer.start({ root: web, cookie: COOKIE }));
    const session = { cookieFile: join(dir, 'cookie'), caFile: srv.caFile };
    const rates: Record<string, number | null> = {};

    /**
     * Runs `fn` (which writes `out` as qcow2) ROUNDS times, each result compared with the source, and
     * emits the median MiB/s with the range. `hangs`: a timed-out run is counted, not fatal.
     */
    const timed = async (way: string, what: string, fn: () => Promise<unknown>, hangs = false) => {
      const each: number[] = [];
      let hung = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = performance.now();
        try {
          await fn();
        } catch (err) {
          if (!hangs || (err as { kind?: string }).kind !== 'timeout') throw err;
          hung++;
          continue;
        }
        each.push(SIZE / MiB / ((performance.now() - t0) / 1000));
        const same = await compareImages(
          { path: flat, format: 'raw' },
          { path: out, format: 'qcow2' },
          QEMU_IMG,
        );
        if (!same.identical)
          throw new Error(`${way}: ${out} differs from the source (${JSON.stringify(same)})`);
        await rm(out, { force: true });
      }
      const mibps = each.length ? Math.round(median(each)) : null;
      rates[way] = mibps;
      emit({
        bench: 'import_way',
        way,
        what,
        rounds: ROUNDS,
        mibps,
        min_mibps: each.length ? Math.round(Math.min(...each)) : null,
        max_mibps: each.length ? Math.round(Math.max(...each)) : null,
        ...(hangs ? { hung } : {}),
      });
    };
    const convert = (image: string, format: string, timeoutMs = CHILD_MS) =>
      convertImage(image, out, { sourceFormat: format, format: 'qcow2' }, { ...QEMU_IMG, timeoutMs });
    const opened = async (file: string) => {
      const source = await openImportSource({ kind: 'http', url: srv.url(file), session }, OPEN);
      stops.push(() => source.close());
      return source;
    };

    // The floor first: curl to a file, then qemu-img convert (512 MiB of scratch).
    await timed(FLOOR, 'curl --cacert … -o disk.raw, then qemu-img convert', async () => {
      const copy = join(dir, 'copy.raw');
      try {
        const auth = ['--cacert', srv.caFile, '-H', `Cookie: ${COOKIE}`];
        await exec('curl', ['-sS', '--fail', ...auth, '-o', copy, srv.url('disk-flat.vmdk')]);
        await convert(copy, 'raw');
      } finally {
        await rm(copy, { force: true });
      }
    });

    const raw = await opened('disk-flat.vmdk');
    await timed('nbdkit_curl_raw', 'nbdkit curl → qemu-img convert (openImportSource, a raw file)', () =>
      convert(raw.image, raw.format),
    );

    const direct = await opened('disk.vmdk');
    if (direct.format !== 'raw')
      throw new Error(`openImportSource opened the descriptor as ${direct.format}`);
    await timed(
      'descriptor_flat_raw_from_nbdkit',
      'descriptor + flat: raw from nbdkit (what openImportSource does)',
      () => convert(direct.image, 'raw'),
    );

    // The same extent named in a local descriptor (d0.vmdk, opened from its own directory: see the
    // README), read by qemu's vmdk driver in qemu-img and in a qemu-nbd; the extent is the flat file's
    // nbdkit curl export above (serveUrl's, through openImportSource).
    await writeFile(join(dir, 'd0.vmdk'), descriptor(raw.image));
    const spec = `json:${JSON.stringify({ driver: 'vmdk', file: { driver: 'file', filename: 'd0.vmdk' }, 'extents.0': { driver: 'raw', file: { driver: 'nbd' } } })}`;
    await timed('descriptor_flat_vmdk_in_qemu_img', "descriptor + flat: qemu's vmdk driver in qemu-img", () =>
      exec('qemu-img', ['convert', '-f', 'vmdk', '-O', 'qcow2', spec, out], dir),
    );
    const socket = join(dir, 'qemu-nbd.sock');
    const qemuNbd = await startNbdServer({
      name: 'qemu-nbd',
      command: 'setpriv',
      args: ['--pdeathsig', 'KILL', '--', 'qemu-nbd', '-r', '-t', '-e', '0', `--socket=${socket}`, spec],
      socket,
      cwd: dir,
      timeoutMs: OPEN.timeoutMs,
    });
    stops.push(() => qemuNbd.stop());
    await timed(
      'descriptor_flat_vmdk_in_qemu_nbd',
      "descriptor + flat: qemu's vmdk driver in a qemu-nbd",
      () => convert(qemuNbd.uri, 'raw'),
    );

    const https = "qemu's own https driver (sslverify off: it takes no CA file)";
    if (await hasBlockExtra()) {
      const json = {
        'file.driver': 'https',
        'file.url': srv.url('disk-flat.vmdk'),
        'file.sslverify': 'off',
        'file.cookie': COOKIE,
      };
      const image = `json:${JSON.stringify(json)}`;
      await timed('qemu_https_driver', https, () => convert(image, 'raw', HTTPS_DRIVER_MS), true);
    } else {
      rates['qemu_https_driver'] = null;
      emit({
        bench: 'import_way',
        way: 'qemu_https_driver',
        what: https,
        measured: false,
        reason: 'qemu-block-extra is not installed',
      });
    }

    const floor = rates[FLOOR]!;
    const ratios = Object.fromEntries(
      Object.entries(rates)
        .filter(([way]) => way !== FLOOR)
        .map(([way, r]) => [way, r === null ? null : Number((r / floor).toFixed(2))]),
    );
    emit({
      summary: 'import_ways',
      floor: FLOOR,
      floor_mibps: floor,
      rounds: ROUNDS,
      ratio_vs_floor: ratios,
    });
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
