import { closeSync, openSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { isProcessRunning } from '@ferry/platform';
import { mapWithLimit } from './limit';
import { readAt } from './proc-files';
import type { QemuProcess } from './probes';

/** Files read at once: enough to keep the thread pool busy, small enough to leave it to others. */
const CONCURRENCY = 8;
/** The first read of a cmdline; argv[0] is in it, and only a QEMU's cmdline is read further. */
const FIRST_READ = 4096;
const FERRY_NAME = /^ferry-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The QEMU processes on this host (argv[0] named `qemu-system*`), from `/proc/<pid>/cmdline`.
 * Zombies are left out (their cmdline is empty, and the state is checked again for QEMUs), and so
 * are processes that end while the table is read.
 */
export async function scanQemuProcesses(): Promise<QemuProcess[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const spare: Buffer[] = []; // one first-read buffer per read in flight, reused
  const found = await mapWithLimit(pids, CONCURRENCY, async (pid) => {
    const buffer = spare.pop() ?? Buffer.allocUnsafe(FIRST_READ);
    const argv = await readQemuArgv(pid, buffer).finally(() => spare.push(buffer));
    return argv && isProcessRunning(pid) ? parseQemuArgv(pid, argv) : null;
  });
  return found.filter((p): p is QemuProcess => p !== null);
}

/**
 * A process's argv when it is a QEMU, else null (also when it is gone or unreadable). Reads only the
 * first block of other processes' cmdlines; sync open and close as in `readSmallFile`.
 */
async function readQemuArgv(pid: number, first: Buffer): Promise<string[] | null> {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/cmdline`, 'r');
  } catch {
    return null; // gone
  }
  try {
    const bytesRead = await readAt(fd, first);
    const end = first.subarray(0, bytesRead).indexOf(0);
    const argv0 = first.toString('utf8', 0, end >= 0 ? end : bytesRead);
    if (!basename(argv0).startsWith('qemu-system')) return null;
    const chunks = [first.subarray(0, bytesRead)];
    for (let n = bytesRead; n > 0;) {
      const more = Buffer.allocUnsafe(64 * 1024);
      n = await readAt(fd, more);
      chunks.push(more.subarray(0, n));
    }
    const argv = Buffer.concat(chunks).toString('utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return argv;
  } catch {
    return null; // ended while read (ESRCH)
  } finally {
    closeSync(fd);
  }
}

/** `-name` (the guest name, when it is `ferry-<uuid>`) and `-pidfile` of a QEMU command line. */
export function parseQemuArgv(pid: number, argv: readonly string[]): QemuProcess {
  let vmId: string | null = null;
  let pidFile: string | null = null;
  for (let i = 1; i < argv.length - 1; i++) {
    const option = argv[i].startsWith('--') ? argv[i].slice(1) : argv[i]; // QEMU takes both
    if (option === '-name') vmId = FERRY_NAME.exec(guestName(argv[++i]))?.[1] ?? null;
    else if (option === '-pidfile') pidFile = argv[++i];
  }
  return { pid, vmId, pidFile };
}

/** The guest part of `-name [guest=]<name>[,process=…][,debug-threads=…]`; `,,` is a literal comma. */
function guestName(value: string): string {
  const parts = [''];
  for (let i = 0; i < value.length; i++) {
    if (value[i] !== ',') parts[parts.length - 1] += value[i];
    else if (value[i + 1] === ',') parts[parts.length - 1] += value[i++];
    else parts.push('');
  }
  const keyed = parts.find((p) => p.startsWith('guest='));
  if (keyed !== undefined) return keyed.slice('guest='.length);
  return parts[0].includes('=') ? '' : parts[0];
}
