import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../http/api-errors.decorator';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyIdParams, CreateApiKeyRequest, CreatedApiKeyDto } from './dto/api-key.dto';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { RequireRole } from './roles';

function toDto(k: ApiKeyEntity): ApiKeyDto {
  return { id: k.id, name: k.name, role: k.role, created_at: k.createdAt.toISOString() };
}

/** Key management; admin only. */
@ApiTags('api-keys')
@RequireRole('admin')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  // Not @Idempotent(): the response holds the new secret, and a stored response would keep it in
  // plain text. A retry creates a second key; list and revoke the one you do not use.
  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key is in this response only.' })
  @ApiErrors(400, 401, 403)
  async create(@Body() body: CreateApiKeyRequest): Promise<CreatedApiKeyDto> {
    const { entity, key } = await this.keys.create(body.name, body.role);
    return { ...toDto(entity), key };
  }

  @Get()
  @ApiOkResponse({ type: [ApiKeyDto] })
  @ApiErrors(401, 403)
  async list(): Promise<ApiKeyDto[]> {
    return (await this.keys.list()).map(toDto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors(400, 401, 403, 404)
  async revoke(@Param() params: ApiKeyIdParams): Promise<void> {
    await this.keys.revoke(params.id);
  }
}
