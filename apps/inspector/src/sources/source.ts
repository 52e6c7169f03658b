import type { InspectionResults, InspectionSourceType } from '@ferry/contracts';

/**
 * Where a snapshot is, as the source needs it to remove the snapshot again: JSON, stored with the
 * snapshot intent (`inspector.snapshot_intents.ref`) so that a restarted replica can remove it.
 * vSphere: `{moref, snapshot}`; local: `{vmId, devices: [{deviceId, imagePath, format, overlayPath}]}`.
 */
export type SnapshotRef = Record<string, unknown>;

/** A VM's inspection failed; the VM is marked `error` and the inspector moves on (seed 000). */
export class VmInspectionError extends Error {
  override readonly name: string = 'VmInspectionError';
}

/** The VM does not exist (anymore): a VmInspectionError that callers can tell apart (NOT_FOUND). */
export class VmNotFoundError extends VmInspectionError {
  override readonly name = 'VmNotFoundError';

  constructor(readonly vmId: string) {
    super(`VM ${vmId} not found`);
  }
}

/**
 * The source itself failed; the inspector stops with state `error` (seed 000 "fatal error").
 * `auth`: the credentials were refused (the start answers 400 with the fault); `unreachable`: the
 * source did not answer (503); `refused`: the inspector's settings refuse this vCenter
 * (INSPECTOR_VCENTER_ALLOWLIST, INSPECTOR_VCENTER_ALLOW_HTTP: 422, before any connection);
 * `other`: anything else (500).
 */
export class SourceFatalError extends Error {
  override readonly name = 'SourceFatalError';
  constructor(
    readonly kind: 'auth' | 'unreachable' | 'refused' | 'other',
    /** What the caller is told (and the run records). */
    message: string,
    /** e.g. the SOAP fault's type, `InvalidLogin`; for `unreachable`, the socket's code (logs only). */
    readonly fault?: string,
    /** Why, for the inspector's log only: a vCenter that cannot be reached tells its caller no more. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** What a run needs from the place its VMs live. One instance per run and replica. */
export interface InspectionSource {
  readonly type: InspectionSourceType;
  /** Whether inspections take snapshots (the runner records an intent before each). */
  readonly snapshots: boolean;

  /** The seed's Init work unit: connect and log in. Throws SourceFatalError. */
  open(signal: AbortSignal): Promise<void>;

  /**
   * Freezes the VM's disks for reading: a vSphere snapshot named `name` with `description` (memory
   * false, quiesce false), or vm-operator's live snapshot of every disk. Returns where it is.
   * Throws VmInspectionError (VM not found, wrong power state, …) or SourceFatalError.
   */
  createSnapshot(vmId: string, name: string, description: string, signal: AbortSignal): Promise<SnapshotRef>;

  /** Reads the VM (and, through `ref`, its frozen disks). Honours `signal` promptly. */
  inspect(vmId: string, ref: SnapshotRef | null, signal: AbortSignal): Promise<InspectionResults>;

  /**
   * Removes the snapshot (vSphere: RemoveSnapshot_Task with consolidate; local: consolidate each disk).
   * `ref` null means a crash came between recording the intent and learning the ref: find the
   * snapshot by `name` and `description` and remove it if it exists. Removing what is already gone
   * succeeds. Must not honour an abort: it runs in cleanup.
   */
  removeSnapshot(vmId: string, ref: SnapshotRef | null, name: string, description: string): Promise<void>;

  /** Logs out; never throws. */
  close(): Promise<void>;
}
