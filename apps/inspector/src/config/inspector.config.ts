import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, Min, MinLength, Validate } from 'class-validator';
import type { ValidatorConstraintInterface } from 'class-validator';
import { ValidatorConstraint } from 'class-validator';
import {
  INSPECTOR_EXPORT_LEASE_MS,
  INSPECTOR_EXPORT_MAX_LEASE_MS,
  INSPECTOR_EXPORT_MIN_LEASE_MS,
} from '@ferry/contracts';
import { EnvBoolean, PlatformConfig } from '@ferry/platform';
import { parseAllowlist } from '../sources/vsphere/vcenter-allowlist';

@ValidatorConstraint({ name: 'vcenterAllowlist' })
class AllowlistConstraint implements ValidatorConstraintInterface {
  private error = '';
  validate(value: unknown): boolean {
    try {
      parseAllowlist(String(value));
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

export class InspectorConfig extends PlatformConfig {
  /** A draining queue commits thousands of times a second: batch the relay's work (see PlatformConfig). */
  override OUTBOX_LINGER_MS = 10;

  /** VMs inspected at once across every replica (seed 000 inspects one at a time). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  INSPECTOR_CONCURRENCY = 1;

  /**
   * Key that encrypts vCenter credentials at rest (AES-256-GCM): 32 bytes, base64 or hex. Without it
   * each process makes a key of its own, so a vSphere run cannot survive a restart of the replica
   * that accepted it, and only that replica works on it.
   */
  @IsString()
  @Matches(/^$|^[A-Za-z0-9+/]{43}=?$|^[0-9a-fA-F]{64}$/, { message: 'must be 32 bytes, base64 or hex' })
  INSPECTOR_CREDENTIALS_KEY = '';

  /** Allow the `noop` source (a zero-cost work unit): for demos, tests and benchmarks only. */
  @EnvBoolean()
  @IsBoolean()
  INSPECTOR_NOOP_SOURCE = false;

  /** How often a replica looks for work, heartbeats its VMs and checks for cancellation, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(20)
  @Max(60_000)
  INSPECTOR_POLL_INTERVAL_MS = 500;

  /** Limit of one VM's whole inspection (snapshot, inspection, removal), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(24 * 3_600_000)
  INSPECTOR_VM_TIMEOUT_MS = 1_800_000;

  /** PEM file of the CA that signs vCenter's certificate; empty means the system's CAs. */
  @IsString()
  INSPECTOR_VSPHERE_CA_FILE = '';

  /** Accept any vCenter certificate (never in production). */
  @EnvBoolean()
  @IsBoolean()
  INSPECTOR_VSPHERE_INSECURE = false;

  /**
   * The vCenters (or ESXi hosts) the inspector may reach, comma-separated: host names (matched
   * exactly, case aside), IP addresses and CIDRs, IPv4 or IPv6; any port. A host name no entry names
   * is resolved (dns.lookup) and allowed when every address is inside a CIDR. Empty: any vCenter.
   */
  @IsString()
  @Validate(AllowlistConstraint)
  INSPECTOR_VCENTER_ALLOWLIST = '';

  /** Accept `http://` vCenter URLs (credentials and session cookies in the clear): never in production. */
  @EnvBoolean()
  @IsBoolean()
  INSPECTOR_VCENTER_ALLOW_HTTP = false;

  /** Limit of each SOAP request, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  INSPECTOR_VSPHERE_REQUEST_TIMEOUT_MS = 30_000;

  /** Limit of each vSphere task (snapshot creation or removal), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(24 * 3_600_000)
  INSPECTOR_VSPHERE_TASK_TIMEOUT_MS = 900_000;

  /** An export's lease when `inspector.export.open` names none, in ms: past it the export is closed. */
  @Type(() => Number)
  @IsInt()
  @Min(INSPECTOR_EXPORT_MIN_LEASE_MS)
  @Max(INSPECTOR_EXPORT_MAX_LEASE_MS)
  INSPECTOR_EXPORT_LEASE_MS = INSPECTOR_EXPORT_LEASE_MS;

  /**
   * How soon a disk reader is told to ask `inspector.export.session` again, in ms (at most half the
   * lease): well under vCenter's idle session timeout (30 min by default), which each ask resets.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(1_800_000)
  INSPECTOR_EXPORT_SESSION_REFRESH_MS = 300_000;

  /**
   * How deep inspection goes: `virt-inspector` (libguestfs: OS, filesystems, fstab hazards; about
   * 30 s and 700 MB under TCG; for vSphere VMs over the datastore, under the snapshot) or
   * `first-pass` (local: qemu-img and the partition table only; vSphere: vSphere's facts only).
   */
  @IsIn(['virt-inspector', 'first-pass'])
  INSPECTOR_DEEP_INSPECTION: 'virt-inspector' | 'first-pass' = 'virt-inspector';

  /** Limit of one virt-inspector run, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  INSPECTOR_VIRT_INSPECTOR_TIMEOUT_MS = 600_000;

  /** qemu-img used for the first pass. */
  @IsString()
  @MinLength(1)
  QEMU_IMG_BINARY = 'qemu-img';
}
