import { isAbsolute, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { FerryError } from '@ferry/contracts';
import { realPathWithin } from '@ferry/platform';

/** Why a VM_STORAGE_DIRS value cannot be used, or undefined. */
export function storageDirsProblem(value: string): string | undefined {
  const dirs = value.split(',');
  if (dirs.some((d) => !isAbsolute(d) || d.includes('\0'))) return 'must be comma-separated absolute paths';
  if (dirs.some((d) => resolve(d) === '/')) return 'must not name "/", which would let every file through';
  return undefined;
}

/**
 * The one check on every image path that reaches QEMU through vm-operator: it must lie inside one of
 * VM_STORAGE_DIRS once symlinks and `..` are resolved (a file that does not exist yet, by its
 * directory). Whoever asks, a path elsewhere is VALIDATION, and the same answer whether or not the
 * file exists, so a refusal tells the caller nothing about the host's files.
 */
export class ImagePaths {
  private readonly logger = new Logger(ImagePaths.name);

  constructor(private readonly dirs: readonly string[]) {}

  static fromSetting(value: string): ImagePaths {
    return new ImagePaths(value.split(','));
  }

  async check(path: string, deviceId: string): Promise<void> {
    if ((await realPathWithin(path, this.dirs)) !== undefined) return;
    this.logger.warn({ msg: 'image path outside the storage directories refused', deviceId, path });
    throw FerryError.validation(
      `path of device "${deviceId}" is not an image under vm-operator's storage directories`,
      [{ field: 'path', messages: ['path must be a file under one of VM_STORAGE_DIRS (symlinks followed)'] }],
    );
  }
}
