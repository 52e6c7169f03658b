import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { HOST_NAME_PATTERN } from '@ferry/contracts';
import { machineHostName, PlatformConfig } from '@ferry/platform';

export class VmOperatorConfig extends PlatformConfig {
  /** Base of the per-VM runtime directories (QMP socket, pid file, log). Keep it short: socket paths max 107 bytes. */
  @Matches(/^\/[^\0]{0,60}$/, { message: 'must be an absolute path of at most 60 characters' })
  VM_RUNTIME_DIR = '/var/lib/ferry/vms';

  /** The QEMU system emulator to run. */
  @IsString()
  QEMU_BINARY = 'qemu-system-x86_64';

  /** `auto` (KVM when /dev/kvm is usable, else TCG), or force `kvm` or `tcg`. */
  @IsIn(['auto', 'kvm', 'tcg'])
  VM_ACCELERATOR: 'auto' | 'kvm' | 'tcg' = 'auto';

  /** How long a guest gets to honour ACPI power-down before `quit`, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  VM_POWERDOWN_GRACE_MS = 10_000;

  /**
   * This host's name in host-capability. VMs of a template with required traits are created only if
   * placement says this host has them.
   */
  @Matches(HOST_NAME_PATTERN, { message: 'must be a host name (letters, digits, ".", "_", "-")' })
  VM_HOST_NAME = machineHostName();
}
