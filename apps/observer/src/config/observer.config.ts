import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsString, Matches, Max, Min, Validate } from 'class-validator';
import type { ValidatorConstraintInterface } from 'class-validator';
import { ValidatorConstraint } from 'class-validator';
import { EnvBoolean, PlatformConfig } from '@ferry/platform';
import { parsePolicies } from '../sweep/policies';

@ValidatorConstraint({ name: 'policies' })
class PoliciesConstraint implements ValidatorConstraintInterface {
  private error = '';
  validate(value: unknown): boolean {
    try {
      parsePolicies(String(value));
      return true;
    } catch (err) {
      this.error = (err as Error).message;
      return false;
    }
  }
  defaultMessage(): string {
    return this.error;
  }
}

/** Seed 004: the observer checks coherence every 5 s or less ("≤ 5 s enforced"). */
export const MAX_SWEEP_INTERVAL_MS = 5_000;

export class ObserverConfig extends PlatformConfig {
  /** Time between the starts of two sweeps, in ms; at most 5000 (seed 004). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(MAX_SWEEP_INTERVAL_MS, {
    message: `must be at most ${MAX_SWEEP_INTERVAL_MS} ms: seed 004's observer checks coherence every 5 s or less`,
  })
  OBSERVER_SWEEP_INTERVAL_MS = 5_000;

  /**
   * Tests only: `false` sweeps once at start-up and then only on demand (`POST /coherence/sweep`), so
   * that a test counts every sweep. Never off in production: it is what keeps the 5 s promise.
   */
  @EnvBoolean()
  @IsBoolean()
  OBSERVER_PERIODIC_SWEEPS = true;

  /** Consecutive sweeps that must see a finding before it becomes an issue. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  OBSERVER_HYSTERESIS = 2;

  /** Per kind, what to do when an issue opens: `kind=policy,...` (log, repair, quarantine); unlisted kinds log. */
  @IsString()
  @Validate(PoliciesConstraint)
  OBSERVER_POLICIES = '';

  /** Deadline of one QMP probe (query-status, query-block) on a VM's auxiliary monitor, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(50)
  @Max(30_000)
  OBSERVER_PROBE_TIMEOUT_MS = 1_000;

  /** Probes run at once (QMP connections, stats, qemu-img). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  OBSERVER_PROBE_CONCURRENCY = 16;

  /** vm-operator's VM_RUNTIME_DIR on this host (pid files, QMP sockets). */
  @Matches(/^\/[^\0]*$/, { message: 'must be an absolute path' })
  VM_RUNTIME_DIR = '/var/lib/ferry/vms';

  /** volume-daemon's VOLUME_STORAGE_DIR on this host (disk images). */
  @Matches(/^\/[^\0]*$/, { message: 'must be an absolute path' })
  VOLUME_STORAGE_DIR = '/var/lib/ferry/disks';

  /** Where `quarantine` moves orphan disk files; empty: `<VOLUME_STORAGE_DIR>/quarantine`. Same filesystem. */
  @Matches(/^$|^\/[^\0]*$/, { message: 'must be an absolute path' })
  OBSERVER_QUARANTINE_DIR = '';
}
