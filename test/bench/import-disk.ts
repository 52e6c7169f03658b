// The disk the vSphere import bench moves (2 GiB raw, half random data), how it is put in vcsim's
// datastore as an ESXi-style VMDK, and how a copy of it is checked and measured.
import { execFile } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VcsimProbe, attachDisk, monolithicFlatVmdk, uploadFileStream, vcsimFileUrl } from '@ferry/testing';
import type { VcsimProcess } from '@ferry/testing';

export const run = promisify(execFile);
export const MiB = 1024 * 1024;
export const SIZE = 2048 * MiB;
/** The source: 64 MiB of random bytes, then 64 MiB of zeros, and so on (1 GiB of data in 2 GiB). */
const BLOCK = 64 * MiB;
/** The deadline of every child process and of each import. */
export const CHILD_MS = 600_000;
const DS_DIR = '[LocalDS_0] ferry-bench';

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));
export const mibps = (seconds: number) => round(SIZE / MiB / seconds, 1);

/** Bytes a file holds on disk (`stat -c '%b*%B'`); 0 when it is gone. */
export function allocated(path: string): number {
  try {
    return statSync(path).blocks * 512;
  } catch {
    return 0;
  }
}

export async function virtualSize(path: string): Promise<number> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', path], { timeout: 30_000 });
  return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
}

/** A 2 GiB raw, 64 MiB blocks of /dev/urandom at 0, 128, 256… MiB, zeros between. */
async function makeSource(raw: string): Promise<void> {
  await run('truncate', ['-s', String(SIZE), raw], { timeout: 10_000 });
  for (let offset = 0; offset < SIZE; offset += 2 * BLOCK)
    await run(
      'dd',
      [
        'if=/dev/urandom',
        `of=${raw}`,
        'bs=4M',
        `count=${BLOCK / (4 * MiB)}`,
        `seek=${offset / (4 * MiB)}`,
        'conv=notrunc',
        'status=none',
      ],
      { timeout: 120_000, killSignal: 'SIGKILL' },
    );
}

/** Makes the source in `dir` as a monolithicFlat VMDK: its descriptor and its flat file. */
export async function makeVmdk(dir: string): Promise<{ descriptor: string; flat: string }> {
  const raw = join(dir, 'source.raw');
  await makeSource(raw);
  const vmdk = await monolithicFlatVmdk(dir, 'bench', raw);
  rmSync(raw);
  return vmdk;
}

/** The source in vcsim: the VM and disk to import, and the flat file's URL with a session to GET it. */
export interface VsphereDisk {
  moref: string;
  diskKey: number;
  flatUrl: string;
  cookie: string;
}

/** PUTs (streams) `vmdk` into vcsim's datastore, removes it here, and attaches it to the first VM. */
export async function uploadVmdk(
  vcsim: VcsimProcess,
  vmdk: { descriptor: string; flat: string },
): Promise<VsphereDisk> {
  const probe = new VcsimProbe(vcsim);
  const moref = await probe.moref('/DC0/vm/DC0_H0_VM0');
  await uploadFileStream(vcsim, `${DS_DIR}/bench.vmdk`, vmdk.descriptor);
  await uploadFileStream(vcsim, `${DS_DIR}/bench-flat.vmdk`, vmdk.flat);
  rmSync(vmdk.flat);
  rmSync(vmdk.descriptor);
  const disk = await attachDisk(vcsim, moref, { fileName: `${DS_DIR}/bench.vmdk`, capacityBytes: SIZE });
  const flatUrl = vcsimFileUrl(vcsim, `${DS_DIR}/bench-flat.vmdk`);
  return { moref, diskKey: disk.key, flatUrl, cookie: await probe.sessionCookie() };
}
