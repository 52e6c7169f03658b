import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { Role } from '../roles';
import { ROLES } from '../roles';

export class CreateSessionRequest {
  /** The API key to sign in with; it never leaves the gateway again (the session is a cookie). */
  @ApiProperty({ example: 'fry_a1B2c3D4e5F6_...' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  key!: string;
}

export class SessionDto {
  /** The public id of the key the session was made from. */
  @ApiProperty({ example: 'a1B2c3D4e5F6' })
  key_id!: string;
  @ApiProperty({ example: 'alice' })
  name!: string;
  /** What the page may offer: a viewer sees no buttons it may not press. */
  @ApiProperty({ enum: ROLES })
  role!: Role;
  @ApiProperty({ example: '2026-01-01T08:00:00.000Z' })
  expires_at!: string;
  /** Send it in `X-CSRF-Token` with every change made with this session. Keep it in memory only. */
  @ApiProperty({ example: '3f1c…(64 hex digits)' })
  csrf_token!: string;
}
