/** A datastore path, `[LocalDS_0] web01/web01.vmdk`, in its two parts. */
export interface DatastorePath {
  datastore: string;
  /** The path inside the datastore, `/`-separated, without a leading slash: `web01/web01.vmdk`. */
  path: string;
}

/** Reads `[datastore] path/in/it`; null when the text is not a datastore path (or names no file). */
export function parseDatastorePath(fileName: string): DatastorePath | null {
  const m = /^\[([^\]]+)\]\s*(.*)$/.exec(fileName.trim());
  if (!m) return null;
  const path = m[2]!.replace(/^\/+/, '');
  return path ? { datastore: m[1]!, path } : null;
}

/**
 * The file's address on vCenter's (or ESXi's) datastore file service:
 * `<origin>/folder/<path>?dcPath=<datacenter>&dsName=<datastore>`. Each path segment and each query
 * value is percent-encoded, so that names with spaces, `#`, `?` or `&` stay one segment or value.
 */
export function datastoreFileUrl(origin: string, file: DatastorePath, dcPath: string): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/');
  const query = `dcPath=${encodeURIComponent(dcPath)}&dsName=${encodeURIComponent(file.datastore)}`;
  return `${origin.replace(/\/+$/, '')}/folder/${path}?${query}`;
}
