import { readFileSync } from 'node:fs';

/**
 * True while a process runs. A zombie (exited, not yet reaped) counts as gone: a daemonized QEMU's
 * parent is init, and an init that does not reap (as in some containers) keeps killed VMs as zombies.
 */
export function isProcessRunning(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
