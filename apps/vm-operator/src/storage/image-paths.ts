import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { CommandError, realPathWithin } from '@ferry/platform';
import type { ImageInfo, QemuImg } from '@ferry/qemu';
import { createQemuImg, filesNamedBy } from '@ferry/qemu';

/** Why a VM_STORAGE_DIRS value cannot be used, or undefined. */
export function storageDirsProblem(value: string): string | undefined {
  const dirs = value.split(',');
  if (dirs.some((d) => !isAbsolute(d) || d.includes('\0'))) return 'must be comma-separated absolute paths';
  if (dirs.some((d) => resolve(d) === '/')) return 'must not name "/", which would let every file through';
  return undefined;
}

/** How long qemu-img may take to read an image's chain. */
const CHAIN_TIMEOUT_MS = 30_000;

/**
 * The one check on every image that reaches QEMU through vm-operator. Its path must lie inside one of
 * VM_STORAGE_DIRS once symlinks and `..` are resolved (a file that does not exist yet, by its
 * directory): whoever asks, a path elsewhere is VALIDATION, and the same answer whether or not the
 * file exists, so a refusal tells the caller nothing about the host's files. And an image that QEMU
 * would open as anything but raw must be that format, with every file it names (backing files, a
 * qcow2 data file) inside them too: QEMU follows what the image's header says, so a qcow2 naming
 * `/etc/shadow` as its backing file would otherwise hand that file to the guest.
 */
export class ImagePaths {
  private readonly logger = new Logger(ImagePaths.name);

  constructor(
    private readonly dirs: readonly string[],
    private readonly img: QemuImg = createQemuImg({ qemuImg: 'qemu-img', timeoutMs: CHAIN_TIMEOUT_MS }),
  ) {}

  static fromSetting(value: string): ImagePaths {
    return new ImagePaths(value.split(','));
  }

  async check(path: string, deviceId: string, format: string): Promise<void> {
    const real = await realPathWithin(path, this.dirs);
    if (real === undefined) {
      this.logger.warn({ msg: 'image path outside the storage directories refused', deviceId, path });
      throw FerryError.validation(
        `path of device "${deviceId}" is not an image under vm-operator's storage directories`,
        [
          {
            field: 'path',
            messages: ['path must be a file under one of VM_STORAGE_DIRS (symlinks followed)'],
          },
        ],
      );
    }
    // Raw is read as bytes, whatever they say; a file yet to be made is checked when the VM starts.
    if (format !== 'raw' && (await exists(real))) await this.checkChain(real, deviceId, format);
  }

  private async checkChain(real: string, deviceId: string, format: string): Promise<void> {
    let info: ImageInfo;
    try {
      info = await this.img.info(real, { format, backingChain: true });
    } catch (err) {
      const why = err instanceof CommandError ? (err.lines[0] ?? err.message) : (err as Error).message;
      throw FerryError.validation(`image of device "${deviceId}" cannot be opened as ${format}`, [
        { field: 'format', messages: [why.replace(/^qemu-img: /, '')] },
      ]);
    }
    // The image itself is inside (checked above); everything it names must be too.
    const named = filesNamedBy(info, real).slice(1);
    for (const file of named) {
      const absolute = isAbsolute(file) ? file : join(dirname(real), file);
      if ((await realPathWithin(absolute, this.dirs)) !== undefined && (await exists(absolute))) continue;
      this.logger.warn({
        msg: 'image naming a file outside the storage directories refused',
        deviceId,
        path: real,
        names: file,
      });
      throw FerryError.validation(
        `image of device "${deviceId}" names a backing or data file outside vm-operator's storage directories`,
        [{ field: 'path', messages: ['every file the image names must be under one of VM_STORAGE_DIRS'] }],
      );
    }
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
