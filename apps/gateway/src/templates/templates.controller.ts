import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  CreateTemplateRequest,
  ListTemplatesRequest,
  TemplateDto,
  TemplateNameRequest,
  TemplateSubjects,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';

/** VM templates (seed 004), served by vm-operator. */
@ApiTags('templates')
@Controller('templates')
export class TemplatesController {
  constructor(private readonly client: FerryClient) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @ApiCreatedResponse({ type: TemplateDto, description: 'Created; Location names the new template.' })
  @ApiErrors(400, 401, 403, 409, 422, 503, 504)
  async create(
    @Body() body: CreateTemplateRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TemplateDto> {
    const template = await this.client.send(TemplateSubjects.CREATE, body);
    void reply.header('location', `/api/v1/templates/${encodeURIComponent(template.name)}`);
    return template;
  }

  @Get()
  @ApiOkResponse({
    type: [TemplateDto],
    description: `Templates ordered by name. ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListTemplatesRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TemplateDto[]> {
    return pageItems(req, reply, query, await this.client.send(TemplateSubjects.LIST, query));
  }

  @Get(':name')
  @ApiOkResponse({ type: TemplateDto })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: TemplateNameRequest): Promise<TemplateDto> {
    return this.client.send(TemplateSubjects.GET, { name: params.name });
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async delete(@Param() params: TemplateNameRequest): Promise<void> {
    await this.client.send(TemplateSubjects.DELETE, { name: params.name });
  }
}
