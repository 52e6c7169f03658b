export interface ImageInfo {
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes: number | null;
  /** The image first, then its backing files (only the image without `--backing-chain`). */
  backingChain: { path: string; format: string; virtualSizeBytes: number }[];
}

interface InfoEntry {
  filename?: unknown;
  format?: unknown;
  'virtual-size'?: unknown;
  'actual-size'?: unknown;
  'full-backing-filename'?: unknown;
  'backing-filename'?: unknown;
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
    return {
      path: String(named),
      format: typeof e.format === 'string' ? e.format : 'unknown',
      virtualSizeBytes: typeof e['virtual-size'] === 'number' ? e['virtual-size'] : 0,
    };
  });
  return {
    format: first.format,
    virtualSizeBytes: first['virtual-size'],
    actualSizeBytes: typeof first['actual-size'] === 'number' ? first['actual-size'] : null,
    backingChain,
  };
}
