import { readFile } from 'node:fs/promises';
import type { LoggerService } from '@nestjs/common';
import type { openImportSource } from '@ferry/qemu';
import type { DiskInspection } from '../../deep/vm-disk-inspector';
import type { SnapshotRef } from '../source';
import { SourceFatalError } from '../source';
import type { SoapTransport } from './soap-transport';
import type { VcenterPolicy } from './vcenter-policy';

// What a VsphereSession is made from and hands back: its settings (and CA file), its snapshots' refs.

export interface VsphereCredentials {
  url: string;
  username: string;
  password: string;
}

/** From InspectorConfig's INSPECTOR_VSPHERE_* settings. */
export interface VsphereSourceConfig {
  /** PEM file of the CAs to trust; empty: the system's. */
  caFile: string;
  /** Accept any certificate. */
  insecure: boolean;
  /** Limit of each SOAP request, in ms. */
  requestTimeoutMs: number;
  /** Limit of each task (snapshot creation or removal), in ms. */
  taskTimeoutMs: number;
  /**
   * Which vCenters may be reached (INSPECTOR_VCENTER_ALLOWLIST, INSPECTOR_VCENTER_ALLOW_HTTP),
   * checked before any connection; absent: any (unit tests).
   */
  policy?: VcenterPolicy;
  /**
   * INSPECTOR_DEEP_INSPECTION for the source (sessions of exports ignore it): `virt-inspector` reads
   * each disk as its snapshot froze it over the datastore and inspects the guest; `first-pass`
   * (the default here) stops at vSphere's facts.
   */
  deepInspection?: 'virt-inspector' | 'first-pass';
  /** Limit of one VM's libguestfs session, in ms (INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS). */
  virtInspectorTimeoutMs?: number;
  /** QEMU_IMG_BINARY. */
  qemuImg?: string;
  /** Where the private directory of an inspection's cookie and NBD sockets goes; default the system's. */
  tmpDir?: string;
}

export type SourceLogger = Pick<LoggerService, 'log' | 'warn' | 'debug'>;

export interface VsphereSourceOptions {
  /** Replaces HTTPS (unit tests). */
  transport?: SoapTransport;
  /** Pauses between task polls, in ms. */
  taskPollMs?: { first: number; max: number };
  /** Replaces VmDiskInspector (unit tests). */
  disks?: DiskInspection;
  /** Replaces openImportSource, nbdkit over the datastore (unit tests). */
  openSource?: typeof openImportSource;
}

/** The vSphere SnapshotRef: MoRef values of the VM and of the snapshot. */
export interface VsphereSnapshotRef {
  moref: string;
  snapshot: string;
}

/** The vSphere SnapshotRef of a stored ref; null when it is not one (or a crash left none). */
export function parseRef(ref: SnapshotRef | null): VsphereSnapshotRef | null {
  const { moref, snapshot } = ref ?? {};
  return typeof moref === 'string' && typeof snapshot === 'string' && moref && snapshot
    ? { moref, snapshot }
    : null;
}

/** The TLS settings of the SOAP connection: INSPECTOR_VSPHERE_CA_FILE read (fatal when it cannot be). */
export async function readTls(config: VsphereSourceConfig): Promise<{ ca?: string; insecure: boolean }> {
  const { caFile: file, insecure } = config;
  if (!file) return { insecure };
  try {
    return { ca: await readFile(file, 'utf8'), insecure };
  } catch (err) {
    throw new SourceFatalError(
      'other',
      `INSPECTOR_VSPHERE_CA_FILE ${file} cannot be read: ${(err as Error).message}`,
    );
  }
}
