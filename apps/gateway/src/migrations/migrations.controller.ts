import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiAcceptedResponse, ApiExtraModels, ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { MigrationDto, MigrationPlanDto, MigrationReportDto } from '@ferry/contracts';
import {
  CancelMigrationQuery,
  CreateMigrationRequest,
  ListMigrationsRequest,
  MigrationDto as MigrationDtoClass,
  MigrationIdRequest,
  MigrationSubjects,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { preferredMediaType } from '../http/media-type';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CredentialSealer } from '../inspector/credential-sealer';

const RENDERED = ['application/json', 'text/markdown'] as const;
/** Accepting a migration asks vCenter about the VM (a login, a read): more than a usual request. */
const CREATE_TIMEOUT_MS = 90_000;

const ACCEPT = {
  name: 'Accept',
  required: false,
  description: '`text/markdown` for the readable rendering; JSON otherwise.',
};

/** Migrations of vSphere VMs onto Ferry's KVM hosts (seed 001), served by the cleanup service. */
@ApiTags('migrations')
@Controller('migrations')
export class MigrationsController {
  constructor(
    private readonly client: FerryClient,
    private readonly sealer: CredentialSealer,
  ) {}

  @Post()
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: MigrationDtoClass,
    description:
      'Accepted: the migration runs FETCH → FLATTEN → INSPECT → PLAN, then (mode `migrate`) FIX → CONVERT → VALIDATE and the cutover; Location names it, and its stages, `GET /migrations/{id}/plan` and `/report` show how it goes. Nothing is recorded on an error: 400 bad options (or vCenter refused the credentials), 404 the VM is not in vCenter, 409 the VM is already being migrated (naming that migration) or the target name is taken, 422 the template does not exist, 503 vCenter unreachable.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 422, 503, 504)
  async create(
    @Body() body: CreateMigrationRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationDto> {
    const m = await this.client.send(
      MigrationSubjects.CREATE,
      await this.sealer.seal({ ...body, requested_by: req.principal?.name }),
      { timeoutMs: CREATE_TIMEOUT_MS },
    );
    return located(m, reply);
  }

  @Get()
  @ApiOkResponse({
    type: [MigrationDtoClass],
    description: `Newest first (created_at, then id). ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListMigrationsRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationDto[]> {
    return pageItems(req, reply, query, await this.client.send(MigrationSubjects.LIST, query));
  }

  @Get(':id')
  @ApiOkResponse({
    type: MigrationDtoClass,
    description: 'The migration with its stages, each with state, times, attempts, bytes and error.',
  })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: MigrationIdRequest): Promise<MigrationDto> {
    return this.client.send(MigrationSubjects.GET, { id: params.id });
  }

  @Get(':id/plan')
  @ApiHeader(ACCEPT)
  @ApiOkResponse({
    description:
      'PLAN: placement with the reasons other hosts were rejected, the template, the disks and NICs, whether virt-v2v runs, every fix as the exact edits it makes (a diff per file), blockers and warnings. 404 until the plan stage is done.',
    content: {
      'application/json': { schema: { type: 'object' } },
      'text/markdown': { schema: { type: 'string' } },
    },
  })
  @ApiErrors(400, 401, 404, 503, 504)
  async plan(
    @Param() params: MigrationIdRequest,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationPlanDto | string> {
    const { plan, markdown } = await this.client.send(MigrationSubjects.PLAN, { id: params.id });
    return rendered(plan, markdown, accept, reply);
  }

  @Get(':id/report')
  @ApiHeader(ACCEPT)
  @ApiOkResponse({
    description:
      "Seed 001's report: every stage's time and outcome, the plan, what FIX did (virt-v2v, each edit), the libguestfs appliance boots, the validation and cutover boots with their console excerpts and addresses, and the cutover's downtime.",
    content: {
      'application/json': { schema: { type: 'object' } },
      'text/markdown': { schema: { type: 'string' } },
    },
  })
  @ApiErrors(400, 401, 404, 503, 504)
  async report(
    @Param() params: MigrationIdRequest,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationReportDto | string> {
    const { report, markdown } = await this.client.send(MigrationSubjects.REPORT, { id: params.id });
    return rendered(report, markdown, accept, reply);
  }

  @Post(':id/cutover')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: MigrationDtoClass,
    description:
      'Accepted (`cutover: manual`, once validated): the source is powered off in vSphere, the production VM is made from the volumes and the template, started and checked. 409 unless the migration is `awaiting_cutover`.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async cutover(
    @Param() params: MigrationIdRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationDto> {
    return located(await this.client.send(MigrationSubjects.CUTOVER, { id: params.id }), reply);
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiExtraModels(MigrationDtoClass)
  @ApiAcceptedResponse({
    type: MigrationDtoClass,
    description:
      "Cancel: the migration stops (`canceling`, then `canceled`); the source is left exactly as it was (no snapshot; powered on again if Ferry powered it off) and Ferry's copies (volumes, test and production VMs, the derived template) are removed unless `keep=true`. A migration that already ended (planned, blocked, canceled) is returned as it is; 409 for a completed one.",
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async cancel(
    @Param() params: MigrationIdRequest,
    @Query() query: CancelMigrationQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<MigrationDto> {
    return located(
      await this.client.send(MigrationSubjects.CANCEL, { id: params.id, keep: query.keep }),
      reply,
    );
  }
}

function located(m: MigrationDto, reply: FastifyReply): MigrationDto {
  void reply.header('location', `/api/v1/migrations/${m.id}`);
  return m;
}

function rendered<T>(json: T, markdown: string, accept: string | undefined, reply: FastifyReply): T | string {
  void reply.header('vary', 'Accept');
  if (preferredMediaType(accept, RENDERED) === 'application/json') return json;
  void reply.type('text/markdown; charset=utf-8');
  return markdown;
}
