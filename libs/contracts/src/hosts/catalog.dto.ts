import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '../common/page';
import { IsResourceId } from '../common/resource-id';
import type { PlacementStrategy } from './placement.dto';
import {
  CATALOG_NAME_PATTERN,
  PLACEMENT_STRATEGIES,
  ResourceAmounts,
  TraitConstraints,
} from './placement.dto';
import { CUSTOM_TRAIT_PATTERN } from './traits';

/** The seed's configuration models, kept by host-capability. */
export const CATALOG_KINDS = ['resource-class', 'hardware-trait', 'placement-policy', 'qos-policy'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

const NAME_MESSAGE = 'name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit';

class Described {
  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;
}

/** ResourceClass: a named shape of VM (resources and traits), usable in placement requests. */
export class ResourceClassSpec extends Described {
  @ApiProperty({ type: ResourceAmounts })
  @ValidateNested()
  @Type(() => ResourceAmounts)
  resources!: ResourceAmounts;

  @ApiPropertyOptional({ type: TraitConstraints })
  @IsOptional()
  @ValidateNested()
  @Type(() => TraitConstraints)
  traits?: TraitConstraints;
}

/** HardwareTrait: a custom trait (`CUSTOM_*`) and the hosts that carry it. */
export class HardwareTraitSpec extends Described {
  @ApiPropertyOptional({
    type: [String],
    description: 'Hosts that carry this trait (their ids); an id Ferry does not know is 422, naming it.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10_000)
  @ArrayUnique()
  @IsResourceId({ each: true })
  host_ids?: string[];
}

/** PlacementPolicy: how candidates are ranked, and traits every placement under it needs. */
export class PlacementPolicySpec extends Described {
  /** `spread`: the host with the most capacity left first; `pack`: the least. */
  @ApiProperty({ enum: PLACEMENT_STRATEGIES })
  @IsIn(PLACEMENT_STRATEGIES)
  strategy!: PlacementStrategy;

  @ApiPropertyOptional({ type: TraitConstraints })
  @IsOptional()
  @ValidateNested()
  @Type(() => TraitConstraints)
  traits?: TraitConstraints;
}

/** QOSPolicy: limits applied to a VM's CPU, disks and network. */
export class QosPolicySpec extends Described {
  @ApiPropertyOptional({ minimum: 2, maximum: 262144, description: 'cgroup CPU weight.' })
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(262_144)
  cpu_shares?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100_000, description: 'CPU cap in percent of one CPU.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  cpu_quota_percent?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  disk_read_iops_sec?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  disk_write_iops_sec?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  disk_read_bytes_sec?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  disk_write_bytes_sec?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  net_inbound_kbps?: number;

  @ApiPropertyOptional({ minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  net_outbound_kbps?: number;
}

export const CATALOG_SPECS = {
  'resource-class': ResourceClassSpec,
  'hardware-trait': HardwareTraitSpec,
  'placement-policy': PlacementPolicySpec,
  'qos-policy': QosPolicySpec,
} as const satisfies Record<CatalogKind, new () => object>;

/** Names: custom traits are `CUSTOM_*`; the others are like template names. */
export const CATALOG_NAME_PATTERNS: Readonly<Record<CatalogKind, RegExp>> = {
  'resource-class': CATALOG_NAME_PATTERN,
  'hardware-trait': CUSTOM_TRAIT_PATTERN,
  'placement-policy': CATALOG_NAME_PATTERN,
  'qos-policy': CATALOG_NAME_PATTERN,
};

/** A catalog item's name in a path; host-capability checks each kind's own pattern. */
export class CatalogNameParam {
  @ApiProperty({ example: 'm1.medium' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, { message: NAME_MESSAGE })
  name!: string;
}

export class TraitNameParam {
  @ApiProperty({ example: 'CUSTOM_GPU' })
  @IsString()
  @Matches(/^[A-Z][A-Z0-9_]{0,254}$/, { message: 'name must be a trait name such as CUSTOM_GPU' })
  name!: string;
}

/**
 * Request of `host-capability.catalog.put|get|delete|list` (`spec` for put, `name` except for list;
 * list takes a page query, `limit` and `cursor`, checked by the gateway as a PageQuery).
 */
export interface CatalogRequest {
  kind: CatalogKind;
  limit?: number;
  cursor?: string;
  name?: string;
  spec?: Record<string, unknown>;
  /** put: `create` fails with 409 when it exists, `replace` with 404 when it does not. */
  mode?: 'create' | 'replace';
}

/** An item as the API returns it: its name, its spec's fields, and times. */
export type CatalogItemDto = { name: string; created_at: string; updated_at: string } & Record<
  string,
  unknown
>;

/** Request of `host-capability.trait.list` (query of `GET /traits`): a page of traits by name. */
export class ListTraitsRequest extends PageQuery {}

export class TraitDto {
  @ApiProperty({ example: 'HW_CPU_X86_AVX2' })
  name!: string;
  /** false for custom traits (HardwareTrait). */
  @ApiProperty()
  standard!: boolean;
  @ApiProperty()
  description!: string;
  /** Registered hosts that have it now. */
  @ApiProperty()
  hosts!: number;
}

/** Reply of `host-capability.trait.list`: a page of traits by name. */
export class TraitListDto {
  @ApiProperty({ type: [TraitDto] })
  items!: TraitDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}
