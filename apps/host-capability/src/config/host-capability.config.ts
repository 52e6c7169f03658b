import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { HOST_NAME_PATTERN } from '@ferry/contracts';
import { EnvBoolean, machineHostName, PlatformConfig } from '@ferry/platform';

export class HostCapabilityConfig extends PlatformConfig {
  /** Register this machine at start-up as a host reached by the `local` driver. */
  @EnvBoolean()
  @IsBoolean()
  HOST_CAPABILITY_REGISTER_LOCAL = true;

  /**
   * Accept `test:///default` (libvirt's built-in test driver) as a host URI: for demos and tests only,
   * never a real host.
   */
  @EnvBoolean()
  @IsBoolean()
  HOST_CAPABILITY_ALLOW_TEST_URIS = false;

  /** The name of this machine's host record; the machine's host name by default. */
  @Matches(HOST_NAME_PATTERN, { message: 'must be a host name (letters, digits, ".", "_", "-")' })
  HOST_CAPABILITY_LOCAL_HOST_NAME = machineHostName();

  /** How often each host's capabilities are discovered again, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(7 * 24 * 3_600_000)
  HOST_CAPABILITY_REFRESH_INTERVAL_MS = 600_000;

  /** Discoveries that may run at once in this process. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  HOST_CAPABILITY_DISCOVERY_CONCURRENCY = 4;

  /** Limit of one whole discovery; a claim older than this is taken over by another replica, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  HOST_CAPABILITY_DISCOVERY_TIMEOUT_MS = 120_000;

  /** Limit of each command a discovery runs (virsh, qemu, qemu-img), in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  HOST_CAPABILITY_PROBE_TIMEOUT_MS = 20_000;

  /** QEMU system emulator the local driver asks. */
  @IsString()
  @MinLength(1)
  QEMU_BINARY = 'qemu-system-x86_64';

  /** qemu-img the local driver asks for image formats. */
  @IsString()
  @MinLength(1)
  QEMU_IMG_BINARY = 'qemu-img';

  /** virsh the libvirt driver runs. */
  @IsString()
  @MinLength(1)
  VIRSH_BINARY = 'virsh';

  /** Directory whose file system holds guest disks on the local host (its DISK_GB). */
  @IsString()
  @MinLength(1)
  VOLUME_STORAGE_DIR = '/var/lib/ferry/disks';

  /** VCPU allocation ratio: vCPUs placement may promise per host CPU. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.1)
  @Max(64)
  HOST_CAPABILITY_CPU_ALLOCATION_RATIO = 4;

  /** MEMORY_MB allocation ratio. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.1)
  @Max(16)
  HOST_CAPABILITY_RAM_ALLOCATION_RATIO = 1;

  /** DISK_GB allocation ratio (thin images). */
  @Type(() => Number)
  @IsNumber()
  @Min(0.1)
  @Max(64)
  HOST_CAPABILITY_DISK_ALLOCATION_RATIO = 1;

  /** MiB of each host's memory kept for the host itself. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_048_576)
  HOST_CAPABILITY_RESERVED_MEMORY_MB = 512;
}
