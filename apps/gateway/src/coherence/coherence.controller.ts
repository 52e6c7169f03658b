import { Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { CoherenceIssueDto, CoherenceStatusDto } from '@ferry/contracts';
import {
  CoherenceIssueDto as CoherenceIssueDtoClass,
  CoherenceStatusDto as CoherenceStatusDtoClass,
  CoherenceSubjects,
  ListIssuesRequest,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireRole } from '../auth/roles';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';

/** Coherence between the records and reality (seed 004's observer), served by the observer. */
@ApiTags('coherence')
@Controller('coherence')
export class CoherenceController {
  constructor(private readonly client: FerryClient) {}

  @Get('status')
  @ApiOkResponse({
    type: CoherenceStatusDtoClass,
    description:
      "The last sweep's time, duration and CPU time, open issues by kind, and whether sweeps keep up.",
  })
  @ApiErrors(401, 503, 504)
  status(): Promise<CoherenceStatusDto> {
    return this.client.send(CoherenceSubjects.STATUS, {});
  }

  @Get('issues')
  @ApiOkResponse({
    type: [CoherenceIssueDtoClass],
    description: `Newest first (first seen, then id); \`open=true\` for open ones only. ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async issues(
    @Query() query: ListIssuesRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CoherenceIssueDto[]> {
    return pageItems(req, reply, query, await this.client.send(CoherenceSubjects.ISSUE_LIST, query));
  }

  @Post('sweep')
  @Idempotent()
  @RequireRole('admin')
  @HttpCode(200)
  @ApiOkResponse({ type: CoherenceStatusDtoClass, description: 'Sweeps now (admins), then the status.' })
  @ApiErrors(401, 403, 503, 504)
  sweep(): Promise<CoherenceStatusDto> {
    return this.client.send(CoherenceSubjects.SWEEP, {}, { timeoutMs: 30_000 });
  }
}
