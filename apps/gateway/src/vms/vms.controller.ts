import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type { VmAction } from '@ferry/contracts';
import {
  CreateVmBody,
  IsResourceId,
  ListVmsRequest,
  RESOURCE_ID_API,
  VM_ACTIONS,
  VmActionAcceptedDto,
  VmDto,
  VmIdRequest,
  VmSubjects,
  createVmRequestOf,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import { IsIn } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';

class VmActionParams {
  @ApiProperty(RESOURCE_ID_API)
  @IsResourceId()
  id!: string;

  @ApiProperty({ enum: VM_ACTIONS })
  @IsIn(VM_ACTIONS)
  action!: VmAction;
}

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
      'Created in state stopped; Location names it. The template is `template`, or `vm_template` as seed 004 names it; the VM carries both.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async create(@Body() body: CreateVmBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<VmDto> {
    const vm = await this.client.send(VmSubjects.CREATE, createVmRequestOf(body));
    void reply.header('location', `/api/v1/vms/${vm.id}`);
    return vm;
  }

  @Get()
  @ApiOkResponse({ type: [VmDto] })
  @ApiErrors(400, 401, 503, 504)
  async list(@Query() query: ListVmsRequest): Promise<VmDto[]> {
    return (await this.client.send(VmSubjects.LIST, query)).items;
  }

  @Get(':id')
  @ApiOkResponse({ type: VmDto })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: VmIdRequest): Promise<VmDto> {
    return this.client.send(VmSubjects.GET, { id: params.id });
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
