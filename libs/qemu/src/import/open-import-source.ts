import { openHttpSource } from './http-source';
import type { ImportSourceSpec, OpenImportOptions, OpenedSource } from './import-source';
import { openLocalSource } from './local-source';

/**
 * Opens a disk image for one streaming `qemu-img convert` (and `compare`): a local file where it lies,
 * a remote one through nbdkit, never a temporary download. Rejects with an ImportSourceError saying
 * why the source cannot be read; the caller must `close` what it gets.
 */
export async function openImportSource(
  spec: ImportSourceSpec,
  options: OpenImportOptions,
): Promise<OpenedSource> {
  switch (spec.kind) {
    case 'file':
      return openLocalSource(spec, options);
    case 'http':
      return openHttpSource(spec, options);
    default: {
      const never: never = spec;
      throw new Error(`unknown source ${JSON.stringify(never)}`);
    }
  }
}
