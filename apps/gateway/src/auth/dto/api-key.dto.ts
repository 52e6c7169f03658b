import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length, Matches } from 'class-validator';
import type { Role } from '../roles';
import { ROLES } from '../roles';

export class CreateApiKeyRequest {
  /** Who or what uses the key; 1-100 printable characters. */
  @ApiProperty({ example: 'ci-pipeline' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[\x20-\x7E]+$/, { message: 'name must be printable ASCII' })
  name!: string;

  /** viewer reads, operator also changes, admin also manages keys. */
  @ApiProperty({ enum: ROLES, example: 'operator' })
  @IsIn(ROLES)
  role!: Role;
}

export class ApiKeyIdParams {
  /** The 12-character public id of the key. */
  @ApiProperty({ example: 'a1B2c3D4e5F6' })
  @Matches(/^[A-Za-z0-9]{12}$/, { message: 'id must be 12 letters or digits' })
  id!: string;
}

export class ApiKeyDto {
  @ApiProperty({ example: 'a1B2c3D4e5F6' })
  id!: string;
  @ApiProperty({ example: 'ci-pipeline' })
  name!: string;
  @ApiProperty({ enum: ROLES })
  role!: Role;
  @ApiProperty({ example: '2026-01-01T00:00:00.000Z' })
  created_at!: string;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  /** The secret key; shown only in this response. */
  @ApiProperty({ example: 'fry_a1B2c3D4e5F6_...', description: 'Shown once; store it now.' })
  key!: string;
}
