import type { VolumeBackend } from '../../backends/volume-backend';

export interface FlowDeps {
  backend: VolumeBackend;
  /** How long transient backend failures are retried, in ms. */
  retryMs: number;
  /** Attempts of the emergency reattach to the appliance VM. */
  reattachAttempts: number;
}

export const DEFAULT_DETACH_TIMEOUT_MS = 10_000;
export const DEFAULT_POWER_OFF_TIMEOUT_MS = 30_000;
