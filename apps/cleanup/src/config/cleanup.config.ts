import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { TEMPLATE_NAME_PATTERN, VM_NAME_PATTERN } from '@ferry/contracts';
import { EnvBoolean, PlatformConfig } from '@ferry/platform';

export class CleanupConfig extends PlatformConfig {
  /** The vm-operator VM (by name) that holds the replicated volumes: the seed's OMA appliance. */
  @Matches(VM_NAME_PATTERN, { message: 'must be a vm-operator VM name' })
  CLEANUP_APPLIANCE_VM = 'ferry-appliance';

  /** Template of test VMs when the request names none; empty: the request must name one. */
  @IsOptional()
  @IsString()
  @Matches(new RegExp(`^$|${TEMPLATE_NAME_PATTERN.source}`), { message: 'must be a template name' })
  CLEANUP_TEST_VM_TEMPLATE = '';

  /** Delete the test VM at the end of a cleanup unless the request says otherwise (`delete_vm`). */
  @EnvBoolean()
  @IsBoolean()
  CLEANUP_DELETE_VM = true;

  /** How long the test VM may take to power off, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  CLEANUP_POWER_OFF_TIMEOUT_MS = 60_000;

  /** How long one step may wait for a volume operation or a VM to settle, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  CLEANUP_STEP_TIMEOUT_MS = 120_000;

  /** How often jobs left unfinished by a crashed replica are looked for, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  CLEANUP_RECOVERY_INTERVAL_MS = 5_000;

  /**
   * Tests only: after the step with this key is recorded as done, the job stops and the process
   * waits (so a test can `kill -9` it exactly at that step boundary). Empty in production.
   */
  @IsOptional()
  @IsString()
  CLEANUP_PAUSE_AFTER_STEP = '';
}
