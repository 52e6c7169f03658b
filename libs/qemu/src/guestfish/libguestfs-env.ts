import { access, constants } from 'node:fs/promises';
import { probeKvm } from '../kvm/kvm-probe';

/** One KVM probe per QEMU binary and process: the answer does not change while the host runs. */
const kvmProbes = new Map<string, Promise<boolean>>();

function kvmWorks(qemuBinary: string): Promise<boolean> {
  let probe = kvmProbes.get(qemuBinary);
  if (!probe) {
    probe = access('/dev/kvm', constants.R_OK | constants.W_OK).then(
      async () => (await probeKvm(qemuBinary, 15_000)) === undefined,
      () => false,
    );
    kvmProbes.set(qemuBinary, probe);
  }
  return probe;
}

/**
 * The environment of every libguestfs run:
 * - `LIBGUESTFS_BACKEND=direct`: libguestfs runs QEMU itself, without libvirtd.
 * - `force_tcg` when KVM does not really work: libguestfs's `accel=kvm:tcg` only falls back when
 *   /dev/kvm cannot be opened, while under some nested hypervisors /dev/kvm opens and QEMU then aborts
 *   at vCPU reset ("failed to set MSR 0x10a"), or starts and never runs firmware (PVM, on these CI
 *   machines): probeKvm checks both, and the appliance would otherwise hang until its deadline.
 * - `LIBGUESTFS_CACHEDIR=/var/tmp`, where supermin builds the appliance (about 700 MB, as
 *   `.guestfs-<uid>`): libguestfs's own default is `$TMPDIR` before /var/tmp, and a CI job's private
 *   TMPDIR would rebuild it every run. /var/tmp survives reboots and CI runs, so the appliance is
 *   built once per machine (a few seconds) and again only when the host's packages change. supermin
 *   takes a lock in that directory while it builds, and every run boots its own QEMU on throwaway
 *   overlays of the appliance and the disks, so concurrent runs do not disturb each other.
 * Variables already set (LIBGUESTFS_BACKEND_SETTINGS, LIBGUESTFS_CACHEDIR, …) win.
 */
export async function libguestfsEnv(qemuBinary: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    LIBGUESTFS_BACKEND: process.env['LIBGUESTFS_BACKEND'] ?? 'direct',
    LIBGUESTFS_CACHEDIR: process.env['LIBGUESTFS_CACHEDIR'] ?? '/var/tmp',
  };
  if (process.env['LIBGUESTFS_BACKEND_SETTINGS'] === undefined && !(await kvmWorks(qemuBinary))) {
    env['LIBGUESTFS_BACKEND_SETTINGS'] = 'force_tcg';
  }
  return env;
}
