import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { HOST_NAME_PATTERN } from './host.dto';
import { TRAIT_NAME_PATTERN } from './traits';

/** Catalog item names (resource classes, policies): like template names. */
export const CATALOG_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const CATALOG_NAME_MESSAGE = 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit';
const TRAIT_MESSAGE = 'each trait must be an upper-case trait name such as HW_CPU_X86_AVX2 or CUSTOM_GPU';

export const PLACEMENT_STRATEGIES = ['spread', 'pack'] as const;
export type PlacementStrategy = (typeof PLACEMENT_STRATEGIES)[number];

/** Amounts of the standard resources; absent means 0. */
export class ResourceAmounts {
  @ApiPropertyOptional({ minimum: 0, example: 2 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  VCPU?: number;

  @ApiPropertyOptional({ minimum: 0, example: 4096 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  MEMORY_MB?: number;

  @ApiPropertyOptional({ minimum: 0, example: 40 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  DISK_GB?: number;
}

/** Trait lists shared by placement requests, resource classes and placement policies. */
export class TraitConstraints {
  /** Every one of these traits must be on the host. */
  @ApiPropertyOptional({ type: [String], example: ['COMPUTE_SECURITY_TPM_2_0'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(TRAIT_NAME_PATTERN, { each: true, message: TRAIT_MESSAGE })
  required?: string[];

  /** None of these traits may be on the host. */
  @ApiPropertyOptional({ type: [String], example: ['CUSTOM_MAINTENANCE'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(TRAIT_NAME_PATTERN, { each: true, message: TRAIT_MESSAGE })
  forbidden?: string[];
}

/** Body of `POST /placement/candidates`. */
export class PlacementRequest extends TraitConstraints {
  @ApiPropertyOptional({ type: ResourceAmounts })
  @IsOptional()
  @ValidateNested()
  @Type(() => ResourceAmounts)
  resources?: ResourceAmounts;

  /** A ResourceClass: of each resource the larger of its amount and this request's counts; its traits join this request's. */
  @ApiPropertyOptional({ example: 'm1.medium' })
  @IsOptional()
  @IsString()
  @Matches(CATALOG_NAME_PATTERN, { message: `resource_class ${CATALOG_NAME_MESSAGE}` })
  resource_class?: string;

  /** A PlacementPolicy: its strategy ranks the candidates and its traits are added. Default: spread. */
  @ApiPropertyOptional({ example: 'spread-secure' })
  @IsOptional()
  @IsString()
  @Matches(CATALOG_NAME_PATTERN, { message: `policy ${CATALOG_NAME_MESSAGE}` })
  policy?: string;

  /** Only consider these hosts (by name). */
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1000)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(HOST_NAME_PATTERN, { each: true, message: 'each host name must be a host name' })
  hosts?: string[];

  /** At most this many candidates are returned. */
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;
}

export class PlacementCandidateDto {
  @ApiProperty({ format: 'uuid' })
  host_id!: string;
  @ApiProperty()
  host_name!: string;
  /** Higher is better under the policy's strategy. */
  @ApiProperty()
  score!: number;
  /** Capacity left of each requested resource if the request were placed here. */
  @ApiProperty({ type: ResourceAmounts })
  remaining!: ResourceAmounts;
}

export class PlacementRejectionDto {
  @ApiProperty({ format: 'uuid', nullable: true, type: String })
  host_id!: string | null;
  @ApiProperty()
  host_name!: string;
  /** e.g. `TRAIT_MISSING: COMPUTE_SECURITY_TPM_2_0`, `INSUFFICIENT: MEMORY_MB (requested 8192, capacity 4096)`. */
  @ApiProperty({ type: [String] })
  reasons!: string[];
}

export class PlacementResultDto {
  /** Best first. */
  @ApiProperty({ type: [PlacementCandidateDto] })
  candidates!: PlacementCandidateDto[];
  @ApiProperty({ type: [PlacementRejectionDto] })
  rejected!: PlacementRejectionDto[];
  @ApiProperty({ enum: PLACEMENT_STRATEGIES })
  strategy!: PlacementStrategy;
  /** The request after the resource class and policy were merged in. */
  @ApiProperty()
  effective!: { resources: ResourceAmounts; required: string[]; forbidden: string[] };
}
