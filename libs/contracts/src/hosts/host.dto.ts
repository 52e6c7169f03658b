import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';
import { PageQuery } from '../common/page';
import { IsResourceId, RESOURCE_ID_API } from '../common/resource-id';
import type { DiscoveryDriver, HostCapabilityData } from './capability-data';
import { DISCOVERY_DRIVERS } from './capability-data';

/** Host names: letters, digits, `.`, `_` and `-`; starts with a letter or digit; 1–63 characters. */
export const HOST_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const HOST_STATUSES = ['pending', 'discovering', 'ready', 'unreachable', 'error'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** The resources placement counts. */
export const STANDARD_RESOURCES = ['VCPU', 'MEMORY_MB', 'DISK_GB'] as const;
export type StandardResource = (typeof STANDARD_RESOURCES)[number];

/** One resource of a host, as placement counts it: `capacity = floor((total - reserved) * allocation_ratio)`. */
export class InventoryRecordDto {
  @ApiProperty()
  total!: number;
  @ApiProperty()
  reserved!: number;
  @ApiProperty()
  allocation_ratio!: number;
  @ApiProperty()
  capacity!: number;
}

/** A resource that could not be discovered is absent; placement then cannot promise it. */
export type Inventory = Partial<Record<StandardResource, InventoryRecordDto>>;

/** Body of `POST /hosts`. */
export class RegisterHostRequest {
  @ApiProperty({ example: 'kvm-01', pattern: HOST_NAME_PATTERN.source })
  @IsString()
  @Matches(HOST_NAME_PATTERN, {
    message: 'name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
  })
  name!: string;

  /** `local` (this machine, no libvirt) or a libvirt URI: `qemu:///system`, `qemu+ssh://root@kvm-01/system`, `qemu+tls://kvm-02/system` (test:///default in demos). */
  @ApiProperty({ example: 'qemu+ssh://root@kvm-01/system' })
  @IsString()
  @MaxLength(1024)
  uri!: string;
}

export class HostIdRequest {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  hostId!: string;
}

/** `seed`: seed 003's HostCapabilityData (plain values); `facts`: Ferry's document, every fact with its source. */
export const CAPABILITY_VIEWS = ['seed', 'facts'] as const;
export type CapabilityView = (typeof CAPABILITY_VIEWS)[number];

export class CapabilitiesQuery {
  /** A version number; the latest when absent. */
  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'version must be a positive integer' })
  @Min(1, { message: 'version must be a positive integer' })
  version?: number;

  /** Which document: seed 003's shape (the default, for Virtumancer clients) or Ferry's facts. */
  @ApiPropertyOptional({
    enum: CAPABILITY_VIEWS,
    default: 'seed',
    description:
      "`seed` (default): seed 003's HostCapabilityData, `{host_info, cpu_info, memory_info, security_info, storage_info, network_info, virt_info}` with plain values (`null` = unknown). `facts`: Ferry's CapabilitySnapshot, with the version, traits, inventory and every fact as `{value, source, reason?}`.",
  })
  @IsOptional()
  @IsIn(CAPABILITY_VIEWS, { message: 'view must be seed or facts' })
  view?: CapabilityView;
}

export class CapabilitiesRequest extends HostIdRequest {
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'version must be a positive integer' })
  @Min(1, { message: 'version must be a positive integer' })
  version?: number;
}

export class HostDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  @ApiProperty({ example: 'kvm-01' })
  name!: string;
  /** Credentials in the URI (`user:password@`) are never returned. */
  @ApiProperty({ example: 'qemu+ssh://root@kvm-01/system' })
  uri!: string;
  @ApiProperty({ enum: DISCOVERY_DRIVERS })
  driver!: DiscoveryDriver;
  /** `pending` → `discovering` → `ready`; `unreachable` (with the reason) when the host cannot be reached. */
  @ApiProperty({ enum: HOST_STATUSES })
  status!: HostStatus;
  @ApiProperty({ nullable: true, type: String })
  status_reason!: string | null;
  /** The host this host-capability service runs on. */
  @ApiProperty()
  local!: boolean;
  @ApiProperty({ nullable: true, type: Number })
  capability_version!: number | null;
  /** Discovered traits and the custom traits given to this host, sorted. */
  @ApiProperty({ type: [String] })
  traits!: string[];
  @ApiProperty({
    type: Object,
    description:
      'VCPU, MEMORY_MB and DISK_GB, each `{total, reserved, allocation_ratio, capacity}`; absent when unknown.',
  })
  inventory!: Inventory;
  @ApiProperty({ nullable: true, type: String })
  last_discovered_at!: string | null;
  /** A discovery of this host is in flight. */
  @ApiProperty()
  refreshing!: boolean;
  @ApiProperty()
  created_at!: string;
}

export class HostListDto {
  @ApiProperty({ type: [HostDto] })
  items!: HostDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}

/** Request of `host-capability.host.list` (query of `GET /hosts`): a page of hosts by name. */
export class ListHostsRequest extends PageQuery {}

/** One versioned snapshot of a host's capabilities. */
export class CapabilitySnapshotDto {
  @ApiProperty({ format: 'uuid' })
  host_id!: string;
  @ApiProperty()
  version!: number;
  @ApiProperty({ enum: DISCOVERY_DRIVERS })
  driver!: DiscoveryDriver;
  @ApiProperty()
  discovered_at!: string;
  /** The last discovery that found these same facts. */
  @ApiProperty()
  confirmed_at!: string;
  @ApiProperty({
    type: Object,
    description:
      'HostCapabilityData: host, cpu, memory, security, storage, network, virtualization. Every field is `{value, source, reason?}`; `value: null` means unknown and `reason` says why.',
  })
  data!: HostCapabilityData;
  /** Traits derived from these capabilities (custom traits are on the host). */
  @ApiProperty({ type: [String] })
  traits!: string[];
  @ApiProperty({ type: Object })
  inventory!: Inventory;
}

/** One field that changed between two versions; `path` is e.g. `memory.total_mb`. */
export class CapabilityChangeDto {
  @ApiProperty({ example: 'memory.total_mb' })
  path!: string;
  @ApiProperty({ nullable: true, description: 'The previous Fact, or null when the field is new.' })
  from!: unknown;
  @ApiProperty({ nullable: true, description: 'The new Fact, or null when the field is gone.' })
  to!: unknown;
}

export class CapabilityVersionDto {
  @ApiProperty()
  version!: number;
  @ApiProperty()
  discovered_at!: string;
  @ApiProperty({
    type: [CapabilityChangeDto],
    description: 'Against the previous version; empty for version 1.',
  })
  changes!: CapabilityChangeDto[];
  @ApiProperty({ type: [String] })
  traits_added!: string[];
  @ApiProperty({ type: [String] })
  traits_removed!: string[];
}

export class CapabilityHistoryDto {
  @ApiProperty({ format: 'uuid' })
  host_id!: string;
  /** Newest first: one page of them. */
  @ApiProperty({ type: [CapabilityVersionDto] })
  versions!: CapabilityVersionDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}

/** Request of `host-capability.capabilities.history`: a page of a host's versions, newest first. */
export class CapabilityHistoryRequest extends PageQuery {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  hostId!: string;
}

/** Reply of `POST /hosts/{hostId}/capabilities/refresh`. */
export class RefreshAcceptedDto {
  @ApiProperty({ format: 'uuid' })
  host_id!: string;
  /** false: a refresh of this host was already in flight; this request joined it. */
  @ApiProperty()
  started!: boolean;
  @ApiProperty({ type: HostDto })
  host!: HostDto;
}
