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
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProperty,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { VmAction } from '@ferry/contracts';
import {
  CreateVmBody,
  IsResourceId,
  ListVmsRequest,
  RESOURCE_ID_API,
  VM_ACTIONS,
  VmActionAcceptedDto,
  VmConsoleDto,
  VmConsoleQuery,
  VmDto,
  VmIdRequest,
  VmSubjects,
  createVmRequestOf,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import { IsIn } from 'class-validator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireRole } from '../auth/roles';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { ApiErrors } from '../http/api-errors.decorator';
import { preferredMediaType } from '../http/media-type';
import { Idempotent } from '../idempotency/idempotent.decorator';

class VmActionParams {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;

  @ApiProperty({ enum: VM_ACTIONS })
  @IsIn(VM_ACTIONS)
  action!: VmAction;
}

const CONSOLE_TYPES = ['application/json', 'text/plain'] as const;

const CONSOLE_DESCRIPTION =
  "The end of the VM's serial console (ttyS0), whatever its state: this boot's since its last start, kept after " +
  'QEMU exits (a guest that powered off or crashed), or with `?boot=previous` the boot before it. Operators only: ' +
  'a console shows what is typed at a login prompt and what a guest prints at boot (cloud-init can print generated ' +
  'passwords), which a viewer key must not read. Only the end of the log is returned (`?tail=` bytes, 64 KiB by ' +
  'default, at most 1 MiB), as UTF-8 with invalid bytes replaced and carriage returns removed; the log itself grows ' +
  'for as long as the VM runs and starts anew at each start. JSON by default; `Accept: text/plain` gets the text ' +
  'alone (with `Last-Modified` and `X-Console-Truncated`). Never cached (`Cache-Control: no-store`). A VM that ' +
  'never started has an empty console; 404 for an unknown VM.';

const ACTION_SUBJECTS = {
  start: VmSubjects.START,
  stop: VmSubjects.STOP,
  restart: VmSubjects.RESTART,
} as const;

/** VMs (seed 004), served by vm-operator. */
@ApiTags('vms')
@Controller('vms')
export class VmsController {
  constructor(private readonly client: FerryClient) {}

  @Post()
  @Idempotent()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: VmDto,
    description:
      'Created in state stopped; Location names it. The template is `template`, or `vm_template` as seed 004 names it; the VM carries both. ' +
      '`nics` omitted: one NIC with a generated MAC (none under VM_NETWORK_MODE `none`); `[]`: no NIC. 409 for a MAC another VM has; ' +
      '422 for NICs under VM_NETWORK_MODE `none`, or a template whose required traits this host lacks.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 422, 503, 504)
  async create(@Body() body: CreateVmBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<VmDto> {
    const vm = await this.client.send(VmSubjects.CREATE, createVmRequestOf(body));
    void reply.header('location', `/api/v1/vms/${vm.id}`);
    return vm;
  }

  @Get()
  @ApiOkResponse({
    type: [VmDto],
    description: `VMs, oldest first (created_at, then id). ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListVmsRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VmDto[]> {
    return pageItems(req, reply, query, await this.client.send(VmSubjects.LIST, query));
  }

  @Get(':id')
  @ApiOkResponse({ type: VmDto })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: VmIdRequest): Promise<VmDto> {
    return this.client.send(VmSubjects.GET, { id: params.id });
  }

  @Get(':id/console')
  @RequireRole('operator')
  @ApiExtraModels(VmConsoleDto)
  @ApiHeader({
    name: 'Accept',
    required: false,
    description: '`text/plain` for the console text alone; JSON (VmConsoleDto) otherwise.',
  })
  @ApiOkResponse({
    description: CONSOLE_DESCRIPTION,
    content: {
      'application/json': { schema: { $ref: getSchemaPath(VmConsoleDto) } },
      'text/plain': { schema: { type: 'string' } },
    },
  })
  @ApiErrors(400, 401, 403, 404, 503, 504)
  async console(
    @Param() params: VmIdRequest,
    @Query() query: VmConsoleQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VmConsoleDto | string> {
    const log = await this.client.send(VmSubjects.CONSOLE, {
      id: params.id,
      ...(query.tail !== undefined ? { tailBytes: query.tail } : {}),
      ...(query.boot !== undefined ? { boot: query.boot } : {}),
    });
    void reply.header('cache-control', 'no-store').header('vary', 'Accept');
    if (preferredMediaType(accept, CONSOLE_TYPES) === 'application/json') return log;
    void reply.type('text/plain; charset=utf-8').header('x-console-truncated', String(log.truncated));
    if (log.updated_at) void reply.header('last-modified', new Date(log.updated_at).toUTCString());
    return log.text;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({
    description:
      "Seed 004: stopped if it runs, its disks detached through volume-daemon (each one's own detach operation; the disks stay, `available`), then deleted. 409 while it is starting or stopping, for a device volume-daemon does not know (nothing changed), or naming each disk volume-daemon could not detach (the VM is left stopped, the others detached). 503 when volume-daemon is down and the VM has disks (nothing changed).",
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async delete(@Param() params: VmIdRequest): Promise<void> {
    await this.client.send(VmSubjects.DELETE, { id: params.id });
  }

  @Post(':id/actions/:action')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: VmActionAcceptedDto,
    description: 'Accepted; follow the VM (Location) or its events.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async act(
    @Param() params: VmActionParams,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VmActionAcceptedDto> {
    const accepted = await this.client.send(ACTION_SUBJECTS[params.action], { id: params.id });
    void reply.header('location', `/api/v1/vms/${params.id}`);
    return accepted;
  }
}
