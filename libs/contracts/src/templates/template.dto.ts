import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
} from 'class-validator';
import { PageQuery } from '../common/page';
import { TRAIT_NAME_PATTERN } from '../hosts/traits';

/** Letters, digits, `.`, `_` and `-`; starts with a letter or digit; 1–63 characters. */
export const TEMPLATE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const MAX_CPU_COUNT = 512;
/** QEMU machine types, e.g. `q35`, `pc`, `pc-q35-7.2`. */
export const MACHINE_TYPE_PATTERN = /^[a-z0-9][a-z0-9.-]{0,31}$/;
/** 16 TiB expressed in MiB. */
export const MAX_RAM_MIB = 16 * 1024 * 1024;

const NAME_RULE =
  'name must be 1-63 characters of letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Body of `POST /templates` and request of `vm-operator.template.create`. */
export class CreateTemplateRequest {
  /** Unique template name; see TEMPLATE_NAME_PATTERN. Never null. */
  @ApiProperty({
    example: 'small',
    pattern: TEMPLATE_NAME_PATTERN.source,
    description: 'Unique name, 1-63 chars.',
  })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: NAME_RULE })
  name!: string;

  /** Virtual CPUs, 1 to MAX_CPU_COUNT. */
  @ApiProperty({ example: 2, minimum: 1, maximum: MAX_CPU_COUNT, description: 'Virtual CPUs.' })
  @IsInt()
  @Min(1)
  @Max(MAX_CPU_COUNT)
  cpu_count!: number;

  /** Memory in MiB, 1 to MAX_RAM_MIB. */
  @ApiProperty({ example: 2048, minimum: 1, maximum: MAX_RAM_MIB, description: 'Memory in MiB.' })
  @IsInt()
  @Min(1)
  @Max(MAX_RAM_MIB)
  ram_amount!: number;

  /** QEMU machine type the VMs of this template run; `q35` when absent. */
  @ApiPropertyOptional({
    example: 'q35',
    pattern: MACHINE_TYPE_PATTERN.source,
    description: 'QEMU machine type; default q35.',
  })
  @IsOptional()
  @IsString()
  @Matches(MACHINE_TYPE_PATTERN, { message: 'machine_type must be a QEMU machine type such as q35 or pc' })
  machine_type?: string;

  /**
   * Traits the host must have to run VMs of this template (e.g. COMPUTE_SECURITY_UEFI_SECURE_BOOT,
   * COMPUTE_SECURITY_TPM_2_0); creating a VM on a host without them is refused with the reasons.
   */
  @ApiPropertyOptional({
    type: [String],
    example: ['COMPUTE_SECURITY_TPM_2_0'],
    description: 'Host traits VMs of this template need (see GET /traits); default none.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @ArrayUnique()
  @IsString({ each: true })
  @Matches(TRAIT_NAME_PATTERN, {
    each: true,
    message: 'each required trait must be a trait name such as COMPUTE_SECURITY_TPM_2_0',
  })
  required_traits?: string[];
}

/** Request of `vm-operator.template.get` and `vm-operator.template.delete`. */
export class TemplateNameRequest {
  /** Template name; see TEMPLATE_NAME_PATTERN. */
  @ApiProperty({ example: 'small' })
  @IsString()
  @Matches(TEMPLATE_NAME_PATTERN, { message: NAME_RULE })
  name!: string;
}

/** Request of `vm-operator.template.list` (query of `GET /templates`): a page of templates by name. */
export class ListTemplatesRequest extends PageQuery {}

/** A VM template as returned by the API. */
export class TemplateDto {
  /** Unique template name. */
  @ApiProperty({ example: 'small' })
  name!: string;

  /** Virtual CPUs, at least 1. */
  @ApiProperty({ example: 2 })
  cpu_count!: number;

  /** Memory in MiB, at least 1. */
  @ApiProperty({ example: 2048 })
  ram_amount!: number;

  /** RFC 3339 creation time. */
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  created_at!: string;

  /** QEMU machine type, e.g. q35. */
  @ApiProperty({ example: 'q35' })
  machine_type!: string;

  /** Host traits VMs of this template need. */
  @ApiProperty({ type: [String], example: [] })
  required_traits!: string[];
}

/** Reply of `vm-operator.template.list`: a page, ordered by name. */
export class TemplateListDto {
  @ApiProperty({ type: [TemplateDto] })
  items!: TemplateDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Cursor of the next page; null on the last.' })
  next_cursor!: string | null;
}

/** Reply of `vm-operator.template.delete`. */
export class TemplateDeletedDto {
  /** Name of the template that was deleted. */
  @ApiProperty({ example: 'small' })
  name!: string;
}
