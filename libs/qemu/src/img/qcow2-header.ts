import { open } from 'node:fs/promises';

/** "QFI\xfb", the first four bytes of every qcow2 image. */
const QCOW2_MAGIC = 0x514649fb;
/** magic (4), version (4), backing file offset (8), its size (4), cluster bits (4), size (8). */
const HEADER_BYTES = 32;

/**
 * The virtual size a qcow2 image declares in its header (QEMU's docs/interop/qcow2.txt: big-endian
 * `size` at byte 24), read in-process: one open and one 32-byte read instead of a `qemu-img info`
 * process. Null when the file is not a qcow2 image of version 2 or 3 (or cannot be read); the caller
 * then asks qemu-img, which knows every format. It does not check the image beyond its header.
 */
export async function readQcow2Size(path: string): Promise<number | null> {
  let file;
  try {
    file = await open(path, 'r');
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES || header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    const version = header.readUInt32BE(4);
    if (version !== 2 && version !== 3) return null;
    const size = header.readBigUInt64BE(24);
    return size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : null;
  } catch {
    return null;
  } finally {
    await file?.close().catch(() => undefined);
  }
}
