import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { PageQuery } from '@ferry/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyIdParams, CreateApiKeyRequest, CreatedApiKeyDto } from './dto/api-key.dto';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { RequireRole } from './roles';

function toDto(k: Pick<ApiKeyEntity, 'id' | 'name' | 'role' | 'createdAt'>): ApiKeyDto {
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
  @ApiOkResponse({
    type: [ApiKeyDto],
    description: `Active keys, oldest first (created_at, then id). ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 403)
  async list(
    @Query() query: PageQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ApiKeyDto[]> {
    return pageItems(req, reply, query, await this.keys.list(query)).map(toDto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors(400, 401, 403, 404)
  async revoke(@Param() params: ApiKeyIdParams): Promise<void> {
    await this.keys.revoke(params.id);
  }
}
