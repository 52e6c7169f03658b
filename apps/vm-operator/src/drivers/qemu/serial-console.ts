import { open, rename, stat } from 'node:fs/promises';

/** The end of a console log, decoded. */
export interface LogTail {
  /** UTF-8 (invalid bytes as U+FFFD), without carriage returns. */
  text: string;
  /** Size of the whole log in bytes; 0 when there is none. */
  bytes: number;
  /** Whether `text` starts after the log's beginning. */
  truncated: boolean;
  /** The log's mtime; null when there is no log. */
  updatedAt: Date | null;
}

export interface TailOptions {
  /** At most this many bytes of the log's end are read. */
  tailBytes: number;
  /**
   * At most this many bytes once `text` is JSON-encoded (without its quotes): an invalid byte becomes
   * U+FFFD (3 bytes) and a control character `\u001b` (6), so bytes read say little about the reply.
   */
  maxJsonBytes: number;
}

/** The previous boot's log, kept by `rotateLog`. */
export function previousLogOf(path: string): string {
  return `${path}.1`;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Before a start: the log of the last boot becomes `<path>.1` (replacing the one before), and QEMU
 * begins a new one. An empty log is left where it is, so that a start that failed before the guest
 * wrote anything, repeated, does not push the last boot that did write out of `.1`.
 */
export async function rotateLog(path: string): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    (err: unknown) => {
      if (isMissing(err)) return 0;
      throw err;
    },
  );
  if (size > 0) await rename(path, previousLogOf(path));
}

/** A UTF-8 continuation byte (10xxxxxx): the middle of a character. */
const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80;

/**
 * The last `tailBytes` of a log that QEMU may be writing as it is read. The file's size is taken once
 * and only that much is read. A character cut by the tail's start is skipped (up to 3 continuation
 * bytes), and one QEMU has written only part of is left for the next read, rather than either
 * becoming U+FFFD. A missing log reads as empty.
 */
export async function readLogTail(path: string, options: TailOptions): Promise<LogTail> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if (isMissing(err)) return { text: '', bytes: 0, truncated: false, updatedAt: null };
    throw err;
  }
  try {
    const { size, mtime } = await file.stat();
    const start = Math.max(0, size - Math.max(0, Math.floor(options.tailBytes)));
    const buffer = Buffer.alloc(size - start);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, start + filled);
      if (bytesRead === 0) break; // truncated under us: what was read is all there is
      filled += bytesRead;
    }
    let from = 0;
    if (start > 0) while (from < Math.min(3, filled) && isContinuation(buffer[from]!)) from++;
    const decoded = new TextDecoder('utf-8').decode(buffer.subarray(from, filled), { stream: true });
    const { text, cut } = fitJson(decoded.replace(/\r/g, ''), options.maxJsonBytes);
    return { text, bytes: size, truncated: start > 0 || cut, updatedAt: mtime };
  } finally {
    await file.close();
  }
}

/** Bytes of one UTF-16 code unit inside a JSON string (JSON.stringify's escapes, UTF-8 encoded). */
function jsonCost(unit: number): number {
  if (unit === 0x22 || unit === 0x5c) return 2; // \" and \\
  if (unit < 0x20) return [0x08, 0x09, 0x0a, 0x0c, 0x0d].includes(unit) ? 2 : 6; // \n, else \u001b
  if (unit < 0x80) return 1;
  if (unit < 0x800) return 2;
  if (unit >= 0xd800 && unit <= 0xdfff) return 2; // half of a pair, 4 bytes in all
  return 3;
}

/** The longest end of `text` whose JSON encoding fits in `maxBytes`; `cut` when that is not all of it. */
export function fitJson(text: string, maxBytes: number): { text: string; cut: boolean } {
  let used = 0;
  let i = text.length;
  while (i > 0) {
    const cost = jsonCost(text.charCodeAt(i - 1));
    if (used + cost > maxBytes) break;
    used += cost;
    i--;
  }
  // Never begin with the low half of a surrogate pair whose high half did not fit.
  const low = text.charCodeAt(i);
  if (i > 0 && low >= 0xdc00 && low <= 0xdfff) i++;
  return { text: text.slice(i), cut: i > 0 };
}
