import { dirname, isAbsolute, join } from 'node:path';

/** A VMDK's descriptor as qemu read it: its create type and extent files (paths as qemu opened them). */
export interface VmdkLayout {
  createType: string;
  extents: { path: string; type: string; virtualSizeBytes: number }[];
}

export interface ImageInfo {
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes: number | null;
  /** The image first, then its backing files (only the image without `--backing-chain`). */
  backingChain: { path: string; format: string; virtualSizeBytes: number; vmdk?: VmdkLayout }[];
  /** The backing file as the image names it, when it names one (an import checks where it points). */
  backingFile?: string;
  /** For a VMDK: what its descriptor says. */
  vmdk?: VmdkLayout;
  /** A qcow2's external data file, as the image names it: qemu reads the guest's data from there. */
  dataFile?: string;
}

interface InfoEntry {
  filename?: unknown;
  format?: unknown;
  'virtual-size'?: unknown;
  'actual-size'?: unknown;
  'full-backing-filename'?: unknown;
  'backing-filename'?: unknown;
  'format-specific'?: {
    type?: unknown;
    data?: { 'create-type'?: unknown; extents?: unknown; 'data-file'?: unknown };
  };
}

interface ExtentEntry {
  filename?: unknown;
  format?: unknown;
  'virtual-size'?: unknown;
}

function vmdkLayout(e: InfoEntry): VmdkLayout | undefined {
  const spec = e['format-specific'];
  if (spec?.type !== 'vmdk' || typeof spec.data?.['create-type'] !== 'string') return undefined;
  const extents = Array.isArray(spec.data.extents) ? (spec.data.extents as ExtentEntry[]) : [];
  return {
    createType: spec.data['create-type'],
    extents: extents.map((x) => ({
      path: String(x.filename),
      type: typeof x.format === 'string' ? x.format : 'unknown',
      virtualSizeBytes: typeof x['virtual-size'] === 'number' ? x['virtual-size'] : 0,
    })),
  };
}

/**
 * `qemu-img info --output=json [--backing-chain]`: an array, the image first, or a single object
 * without --backing-chain. Backing paths come from the child's `full-backing-filename`, which
 * qemu-img resolves against the child's directory.
 */
export function parseImageInfo(json: string, path: string): ImageInfo {
  const parsed = JSON.parse(json) as InfoEntry | InfoEntry[];
  const entries = Array.isArray(parsed) ? parsed : [parsed];
  const first = entries[0];
  if (!first || typeof first.format !== 'string' || typeof first['virtual-size'] !== 'number') {
    throw new Error(`qemu-img info gave no format or virtual size for ${path}`);
  }
  const backingChain = entries.map((e, i) => {
    const parent = entries[i - 1];
    const named =
      i === 0 ? path : (parent?.['full-backing-filename'] ?? parent?.['backing-filename'] ?? e.filename);
    const vmdk = vmdkLayout(e);
    return {
      path: String(named),
      format: typeof e.format === 'string' ? e.format : 'unknown',
      virtualSizeBytes: typeof e['virtual-size'] === 'number' ? e['virtual-size'] : 0,
      ...(vmdk && { vmdk }),
    };
  });
  const vmdk = vmdkLayout(first);
  const backingFile = first['backing-filename'];
  const dataFile = first['format-specific']?.data?.['data-file'];
  return {
    format: first.format,
    virtualSizeBytes: first['virtual-size'],
    actualSizeBytes: typeof first['actual-size'] === 'number' ? first['actual-size'] : null,
    backingChain,
    ...(typeof backingFile === 'string' && { backingFile }),
    ...(vmdk && { vmdk }),
    ...(typeof dataFile === 'string' && { dataFile }),
  };
}

/**
 * Every file QEMU reads for an image: each layer of its backing chain (the image first), a VMDK's
 * extents as named, and a qcow2's data file (resolved against the image's directory). What an image
 * names is what an attacker who wrote its header controls: callers check where these lie.
 */
export function filesNamedBy(info: ImageInfo, imagePath: string): string[] {
  const named = info.backingChain.flatMap((l) => [l.path, ...(l.vmdk?.extents.map((e) => e.path) ?? [])]);
  if (info.dataFile)
    named.push(isAbsolute(info.dataFile) ? info.dataFile : join(dirname(imagePath), info.dataFile));
  return named;
}
