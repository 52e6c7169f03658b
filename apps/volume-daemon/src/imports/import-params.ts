import type { DiskFormat } from '@ferry/contracts';

/** Where an accepted import reads from, as recorded on its operation (never a secret). */
export type StoredSource =
  | { type: 'file'; path: string; disk?: number | string }
  | { type: 'url'; url: string; disk?: number | string }
  | {
      type: 'vsphere';
      /** The inspector's export: the snapshot, the session and the credentials stay with it. */
      exportId: string;
      /** Whether this import opened the export (and so closes it when it ends). */
      ownsExport: boolean;
      vmId: string;
      vmName: string;
      /** Device key. */
      disk: string;
      /** 1-based place of the disk on the VM. */
      diskIndex: number;
      /** The disk's descriptor on the datastore's `/folder` endpoint. */
      url: string;
    };

/** `volume.operations.params` of an import. */
export interface ImportParams {
  source: StoredSource;
  name: string;
  format: DiskFormat;
  /** The VM (id) the verified disk is attached to; null for none. */
  attachTo: string | null;
  /** The guest-visible size of the source, checked again before any byte moves. */
  virtualSizeBytes: number;
  /** What `qemu-img measure` says the result needs, checked against the free space at accept. */
  requiredBytes: number;
}

/** A disk name from a vSphere VM's name: `<vm name>-disk<N>`, made to fit the disk name pattern. */
export function defaultVsphereName(vmName: string, index: number): string {
  const suffix = `-disk${index}`;
  const base = vmName
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63 - suffix.length);
  return `${base || 'vm'}${suffix}`;
}
