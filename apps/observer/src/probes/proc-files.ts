import { closeSync, openSync, read } from 'node:fs';

/**
 * Small files of /proc and the runtime directory, read cheaply: opening and closing them never
 * waits, so those are synchronous (one thread-pool trip per file instead of the five of
 * `fs.promises.readFile`); reading a /proc/<pid>/cmdline can wait on that process's memory map
 * lock, so reads stay async. Null when the file is missing or the read fails.
 */
export async function readSmallFile(path: string): Promise<Buffer | null> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null; // missing, or the process is gone
  }
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = Buffer.allocUnsafe(4096);
      const n = await readAt(fd, chunk);
      chunks.push(chunk.subarray(0, n));
      // A short read is the end, for regular files and for procfs (which gives at most a page, 4 KiB,
      // per read on old kernels); reading on to see 0 bytes would double the thread-pool trips.
      if (n < chunk.length) return Buffer.concat(chunks);
    }
  } catch {
    return null; // e.g. ESRCH: the process ended while it was read
  } finally {
    closeSync(fd);
  }
}

/** One read at the file's current position. */
export function readAt(fd: number, buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n))),
  );
}
