// The floors of the vSphere import bench, on the same flat file in vcsim's datastore: curl to a file
// then `qemu-img convert` (sequential), and `nbdkit curl` → `qemu-img convert` (streaming, what
// Ferry does).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CHILD_MS, MiB, SIZE, allocated, mibps, round, run, virtualSize } from './import-disk';
import { Sampler } from './process-sampler';

/** The flat file's URL in vcsim, with a session cookie and vcsim's CA to GET it. */
export interface FloorSource {
  flatUrl: string;
  cookie: string;
  caFile: string;
}

/** Runs a command with a deadline (SIGKILL); resolves its wall time in seconds. */
async function timedRun(file: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await run(file, args, { timeout: CHILD_MS, killSignal: 'SIGKILL', maxBuffer: 16 * MiB });
  return (performance.now() - t0) / 1000;
}

/**
 * Waits until nbdkit has written its pid file (`-P`), which it does once it accepts connections; a
 * probing connect would make it log a broken handshake.
 */
async function ready(pidFile: string, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(pidFile)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nbdkit exited (${child.exitCode ?? child.signalCode}) before it listened`);
    if (Date.now() > deadline) throw new Error(`nbdkit was not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** curl the flat file to a file in `dir`, then `qemu-img convert` it to qcow2. */
export async function sequentialFloor(dir: string, source: FloorSource) {
  const copy = join(dir, 'download-flat.vmdk');
  const out = join(dir, 'sequential.qcow2');
  try {
    const download = await timedRun('curl', [
      '-sS',
      '--fail',
      '--cacert',
      source.caFile,
      '-H',
      `Cookie: ${source.cookie}`,
      '-o',
      copy,
      source.flatUrl,
    ]);
    const convert = await timedRun('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', copy, out]);
    if ((await virtualSize(out)) !== SIZE) throw new Error(`${out} is not ${SIZE} bytes`);
    return {
      download_s: round(download),
      convert_s: round(convert),
      wall_s: round(download + convert),
      mibps: mibps(download + convert),
      download_mibps: mibps(download),
      bytes_written: allocated(copy) + allocated(out),
    };
  } finally {
    rmSync(copy, { force: true });
    rmSync(out, { force: true });
  }
}

/**
 * `nbdkit curl` on the flat file, and `qemu-img convert` from it to qcow2 in `dir`; both are kept in
 * `children` while they run. `size`: the disk's, when it is not this bench's 2 GiB.
 */
export async function streamingFloor(
  dir: string,
  source: FloorSource,
  children: Set<ChildProcess>,
  size = SIZE,
) {
  const socket = join(dir, 'floor.sock');
  const pidFile = join(dir, 'floor.pid');
  const out = join(dir, 'streaming.qcow2');
  const t0 = performance.now();
  const nbdkit = spawn(
    'nbdkit',
    [
      '--exit-with-parent',
      '-U',
      socket,
      '-P',
      pidFile,
      'curl',
      `url=${source.flatUrl}`,
      `cookie=${source.cookie}`,
      `cainfo=${source.caFile}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(nbdkit);
  const deadline = setTimeout(() => nbdkit.kill('SIGKILL'), CHILD_MS);
  let sampler: Sampler | undefined;
  try {
    await ready(pidFile, nbdkit, 30_000);
    const t1 = performance.now();
    const qemuImg = spawn(
      'qemu-img',
      ['convert', '-f', 'raw', '-O', 'qcow2', `nbd+unix:///?socket=${socket}`, out],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.add(qemuImg);
    sampler = new Sampler(() => [nbdkit.pid!, qemuImg.pid!]);
    const timer = setTimeout(() => qemuImg.kill('SIGKILL'), CHILD_MS);
    const code = await new Promise<number | null>((resolve) => qemuImg.once('exit', resolve));
    clearTimeout(timer);
    children.delete(qemuImg);
    const t2 = performance.now();
    sampler.stop();
    if (code !== 0) throw new Error(`qemu-img convert from nbdkit exited ${code}`);
    if ((await virtualSize(out)) !== size) throw new Error(`${out} is not ${size} bytes`);
    return {
      convert_s: round((t2 - t1) / 1000),
      wall_s: round((t2 - t0) / 1000),
      mibps: round(size / MiB / ((t2 - t1) / 1000), 1),
      qemu_img_convert_peak_rss_mib: sampler.mib('qemu-img convert'),
      nbdkit_peak_rss_mib: sampler.mib('nbdkit'),
      bytes_written: allocated(out),
      sampler_ms: round(sampler.spentMs, 0),
    };
  } finally {
    sampler?.stop();
    clearTimeout(deadline);
    await stopChild(nbdkit);
    children.delete(nbdkit);
    rmSync(out, { force: true });
    rmSync(socket, { force: true });
    rmSync(pidFile, { force: true });
  }
}
