import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { HOST_NAME_PATTERN } from '@ferry/contracts';
import { machineHostName, PlatformConfig } from '@ferry/platform';
import { bridgeSubnetProblem } from '../drivers/network/ipv4';
import { NETWORK_MODES } from '../drivers/network/network-options';
import type { NetworkMode } from '../drivers/network/network-options';
import { storageDirsProblem } from '../storage/image-paths';

export class VmOperatorConfig extends PlatformConfig {
  /** Base of the per-VM runtime directories (QMP socket, pid file, log). Keep it short: socket paths max 107 bytes. */
  @Matches(/^\/[^\0]{0,60}$/, { message: 'must be an absolute path of at most 60 characters' })
  VM_RUNTIME_DIR = '/var/lib/ferry/vms';

  /**
   * The only directories whose images vm-operator hands to QEMU, comma-separated absolute paths
   * (symlinks followed on both sides): a device path elsewhere is refused, whoever asks. Default:
   * volume-daemon's default VOLUME_STORAGE_DIR; keep it covering that directory.
   */
  @ValidateBy({
    name: 'isStorageDirs',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && storageDirsProblem(v) === undefined,
      defaultMessage: (args) => storageDirsProblem(String(args?.value)) ?? 'must be absolute paths',
    },
  })
  VM_STORAGE_DIRS = '/var/lib/ferry/disks';

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

  /**
   * How VMs get a network. `bridge`: a Linux bridge with dnsmasq for DHCP and one tap per NIC, the
   * address in `local_ip` (needs CAP_NET_ADMIN and /dev/net/tun; a VM start fails when they are
   * missing, never falling back). `user`: QEMU's user-mode networking (outbound only, no `local_ip`).
   * `none`: VMs have no NIC.
   */
  @IsIn(NETWORK_MODES)
  VM_NETWORK_MODE: NetworkMode = 'bridge';

  /** The bridge of `bridge` mode (created if missing): an interface name, at most 15 characters. */
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, {
    message: 'must be an interface name: letters, digits, "_", ".", "-", at most 15 characters',
  })
  VM_NETWORK_BRIDGE = 'ferrybr0';

  /** The bridge's own IPv4 address and prefix; DHCP hands out the rest of the subnet above it. */
  @ValidateBy({
    name: 'isBridgeSubnet',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && bridgeSubnetProblem(v) === undefined,
      defaultMessage: (args) =>
        bridgeSubnetProblem(String(args?.value)) ??
        'must be an IPv4 address with a prefix, e.g. 10.213.0.1/24',
    },
  })
  VM_NETWORK_CIDR = '10.213.0.1/24';

  /** The DHCP server of `bridge` mode (Debian's dnsmasq-base). */
  @IsString()
  VM_DNSMASQ_BINARY = 'dnsmasq';

  /** How often dnsmasq's lease file is read for NIC addresses, in ms. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  VM_NETWORK_LEASE_POLL_MS = 1000;
}
