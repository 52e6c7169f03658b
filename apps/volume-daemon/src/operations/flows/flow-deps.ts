import type { FixGuestFacts, FixOutcomeDto, GuestFixDto } from '@ferry/contracts';
import type { VolumeBackend } from '../../backends/volume-backend';
import type { ImportSlots } from '../../imports/import-slots';
import type { SourceAccess } from '../../imports/source-access';

export interface FlowDeps {
  backend: VolumeBackend;
  /** How long transient backend failures are retried, in ms. */
  retryMs: number;
  /** Attempts of the emergency reattach to the appliance VM. */
  reattachAttempts: number;
  /** Aborted when this replica gives its operations up (shutdown past its grace): children are killed. */
  signal: AbortSignal;
  imports: ImportDeps;
  fixes: GuestFixer;
}

/** An image of a guest's disk, as the fixers open it. */
export interface GuestImage {
  path: string;
  format: 'qcow2' | 'raw';
}

/**
 * What a fix needs done to a guest's images (fixes/guest-fixer.ts, over libs/guest and libs/qemu;
 * stubbed in unit specs). Every child has a deadline and dies with `signal`.
 */
export interface GuestFixer {
  /** virt-v2v's in-place conversion of the guest on these images; resolves what it did, in a sentence. */
  virtV2v(
    images: GuestImage[],
    o: { signal: AbortSignal; onStage: (stage: string) => void },
  ): Promise<string>;
  /** The plan's edits in one read-write libguestfs session, each a compare-and-set; one outcome per edit. */
  applyEdits(
    images: GuestImage[],
    guest: FixGuestFacts,
    fixes: GuestFixDto[],
    signal: AbortSignal,
  ): Promise<FixOutcomeDto[]>;
  /**
   * Internal snapshots of qcow2 images: `create` keeps one that exists already (a crash came right
   * after it was made), `delete` of one that is gone succeeds, `apply` reverts to it.
   */
  snapshot(
    paths: string[],
    name: string,
    action: 'create' | 'apply' | 'delete',
    signal: AbortSignal,
  ): Promise<void>;
}

export interface ImportDeps {
  access: SourceAccess;
  slots: ImportSlots;
  /** Deadline of the convert, and of the verification, in ms. */
  timeoutMs: number;
  /** Closes a vSphere export (its snapshot goes); never throws. */
  closeExport: (exportId: string) => Promise<void>;
}

export const DEFAULT_DETACH_TIMEOUT_MS = 10_000;
export const DEFAULT_POWER_OFF_TIMEOUT_MS = 30_000;
