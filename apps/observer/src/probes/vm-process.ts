import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import { readSmallFile } from './proc-files';
import type { VmProcessState } from './probes';

/**
 * Whether the VM's QEMU runs, by its pid file `<runtimeDir>/<vmId>/qemu.pid`. The pid may be stale
 * and reused, so the process must also carry this VM's `-name ferry-<vmId>,process=ferry-<vmId>`.
 */
export async function vmProcessState(runtimeDir: string, vmId: string): Promise<VmProcessState> {
  const pid = await readPidFile(join(runtimeDir, vmId, 'qemu.pid'));
  if (pid === null) return { pid, alive: false, reason: 'no pid file' };
  if (!isProcessRunning(pid)) return { pid, alive: false, reason: await goneReason(pid) };
  const argv = (await readSmallFile(`/proc/${pid}/cmdline`))?.toString('utf8').split('\0') ?? [];
  if (argv.includes(`ferry-${vmId},process=ferry-${vmId}`)) return { pid, alive: true, reason: null };
  // A process that ended while its cmdline was read shows an empty one.
  if (!isProcessRunning(pid)) return { pid, alive: false, reason: await goneReason(pid) };
  return { pid, alive: false, reason: `pid ${pid} is not this VM's QEMU` };
}

/** A pid that does not run: a zombie while /proc still lists it (nobody reaped it), else gone. */
async function goneReason(pid: number): Promise<string> {
  const listed = await access(`/proc/${pid}`).then(
    () => true,
    () => false,
  );
  return listed ? `zombie ${pid}` : `no process ${pid}`;
}

/** The pid in a pid file; null when the file is missing, unreadable or holds no positive integer. */
async function readPidFile(path: string): Promise<number | null> {
  const text = (await readSmallFile(path))?.toString('utf8').trim() ?? '';
  const pid = /^\d{1,10}$/.test(text) ? Number(text) : 0;
  return pid > 0 ? pid : null;
}
