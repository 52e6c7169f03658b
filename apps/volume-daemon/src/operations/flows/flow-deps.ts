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
