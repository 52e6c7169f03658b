import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, ValidateBy } from 'class-validator';

/** Six lower-case hex octets separated by colons (a MAC is lower-cased on the way in). */
export const MAC_ADDRESS_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** At most this many NICs per VM (QEMU's tap names carry the index as one digit). */
export const MAX_VM_NICS = 8;

/** The NIC models vm-operator gives a VM. */
export const VM_NIC_MODELS = ['virtio-net-pci'] as const;
export type VmNicModel = (typeof VM_NIC_MODELS)[number];

/**
 * Whether `mac` is a unicast address in `xx:xx:xx:xx:xx:xx` form: the lowest bit of the first octet
 * is the group bit, and a NIC with a multicast or broadcast MAC receives nothing meant for it alone.
 */
export function isUnicastMac(mac: string): boolean {
  return MAC_ADDRESS_PATTERN.test(mac) && (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}

/** One NIC of a new VM (`nics` of `POST /vms` and `vm-operator.vm.create`). */
export class VmNicRequest {
  /**
   * Its MAC, `xx:xx:xx:xx:xx:xx`, unicast, unique among VMs (upper case is taken and lower-cased);
   * omitted: `52:54:00:` and three random bytes. A migrated VM keeps its source's MAC here.
   */
  @ApiPropertyOptional({
    example: '52:54:00:12:34:56',
    pattern: MAC_ADDRESS_PATTERN.source,
    description:
      'Unicast MAC, `xx:xx:xx:xx:xx:xx` (lower-cased on the way in), unique among VMs. Default: `52:54:00:` + 3 random bytes.',
  })
  @IsOptional()
  @IsString()
  @ValidateBy({
    name: 'isUnicastMac',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && isUnicastMac(v),
      defaultMessage: () => 'mac must be a unicast MAC address, xx:xx:xx:xx:xx:xx (hex)',
    },
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  mac?: string;
}

/** A NIC of a VM as the API shows it. */
export class VmNicDto {
  /** Its MAC, lower case. */
  @ApiProperty({ example: '52:54:00:12:34:56' })
  mac!: string;
  /** The QEMU device model the guest sees. */
  @ApiProperty({ enum: VM_NIC_MODELS })
  model!: VmNicModel;
  /**
   * The IPv4 address its DHCP lease gives it now (bridge mode); null while the VM is stopped, until
   * the guest's DHCP client has a lease, and always in user and none modes.
   */
  @ApiProperty({ nullable: true, type: String, example: '10.213.0.57' })
  ip!: string | null;
}
