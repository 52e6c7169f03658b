import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
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

  /**
   * Key that encrypts a migration's vCenter credentials at rest (AES-256-GCM): 32 bytes, base64 or
   * hex. A migration needs them until it ends (the cutover powers the source off; a cancel powers it
   * on again). Without a key each process makes its own, and a migration cannot outlive a restart of
   * the replica that accepted it. Give every replica the same key.
   */
  @IsString()
  @Matches(/^$|^[A-Za-z0-9+/]{43}=?$|^[0-9a-fA-F]{64}$/, { message: 'must be 32 bytes, base64 or hex' })
  CLEANUP_CREDENTIALS_KEY = '';

  /**
   * Tests only: after the migration stage with this name is recorded as done (or at
   * `cutover:power-off`, once the cutover has powered the source off), the migration stops and waits
   * until the process is killed or the migration is canceled. Empty in production.
   */
  @IsOptional()
  @IsIn([
    '',
    'fetch',
    'flatten',
    'inspect',
    'plan',
    'fix',
    'convert',
    'validate',
    'cutover',
    'cutover:power-off',
  ])
  CLEANUP_MIGRATION_PAUSE_AFTER_STAGE = '';
}
