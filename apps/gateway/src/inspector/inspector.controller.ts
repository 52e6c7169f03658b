import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import type {
  InspectionHistoryDto,
  InspectionQueueDto,
  InspectionStatusDto,
  InspectorStatusDto,
} from '@ferry/contracts';
import {
  FerryError,
  InspectionHistoryDto as InspectionHistoryDtoClass,
  InspectionQueueDto as InspectionQueueDtoClass,
  InspectionQueueRequest,
  InspectionStatusDto as InspectionStatusDtoClass,
  INSPECTOR_VM_ID_PATTERN,
  InspectorStatusDto as InspectorStatusDtoClass,
  InspectorSubjects,
  PageQuery,
  StartInspectionRequest,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_OBJECT, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { CredentialSealer } from './credential-sealer';

/** A start logs in to vCenter before it answers (the inspector gives that 60 s). */
const START_TIMEOUT_MS = 75_000;
/** A stop or a VM's cancel waits up to 30 s for the running inspection to remove its snapshot. */
const CANCEL_TIMEOUT_MS = 40_000;
const LOCATION = '/api/v1/vms/inspector';

/**
 * Seed 000's inspector, served by the inspector service: one queue of VMs inspected first queued
 * first, each between a snapshot and its removal. These static `/vms/inspector` routes win over
 * `/vms/{id}`.
 */
@ApiTags('inspector')
@Controller('vms')
export class InspectorController {
  constructor(
    private readonly client: FerryClient,
    private readonly sealer: CredentialSealer,
  ) {}

  @Get('inspector')
  @ApiOkResponse({
    type: InspectorStatusDtoClass,
    description: '`ready` before the first start; `error` carries the message of the fatal error.',
  })
  @ApiErrors(401, 503, 504)
  status(): Promise<InspectorStatusDto> {
    return this.client.send(InspectorSubjects.STATUS, {});
  }

  @Post('inspector')
  @Idempotent()
  @HttpCode(202)
  @ApiBody({ type: StartInspectionRequest })
  @ApiAcceptedResponse({
    type: InspectorStatusDtoClass,
    description:
      'Started: the previous run’s queue is replaced by these VMs, in this order (earlier results stay in each VM’s history). `{"source": {"type": "local"}}` inspects vm-operator VMs instead of vCenter’s. 400: a field is missing or empty, or vCenter refused the credentials (the fault is in the detail). 422: the inspector’s settings refuse this vCenter (`INSPECTOR_VCENTER_ALLOWLIST`, or an `http://` URL without `INSPECTOR_VCENTER_ALLOW_HTTP`); nothing changes. 423: the inspector is busy. 503: vCenter is unreachable (the detail says no more). After a 400 from vCenter or a 503 the inspector is in state `error` with the message.',
  })
  @ApiErrors(400, 401, 403, 422, 423, 503, 504)
  async start(
    @Body() body: StartInspectionRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InspectorStatusDto> {
    const status = await this.client.send(InspectorSubjects.START, await this.sealer.seal(body), {
      timeoutMs: START_TIMEOUT_MS,
    });
    void reply.header('location', LOCATION);
    return status;
  }

  @Patch('inspector')
  @HttpCode(202)
  @ApiBody({
    schema: { type: 'array', items: { type: 'string' }, minItems: 1, example: ['vm-1004', 'vm-1005'] },
  })
  @ApiAcceptedResponse({
    type: InspectorStatusDtoClass,
    description:
      'The VMs join the end of the queue. A VM already queued stays where it is; a canceled or failed one is queued again. 400: not a non-empty array of VM ids. 404: the inspector is not running. 423: it is canceling.',
  })
  @ApiErrors(400, 401, 403, 404, 423, 503, 504)
  async add(
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InspectorStatusDto> {
    const status = await this.client.send(InspectorSubjects.ADD, { vmIds: vmIdsOf(body) });
    void reply.header('location', LOCATION);
    return status;
  }

  @Delete('inspector')
  @HttpCode(200)
  @ApiOkResponse({
    type: InspectorStatusDtoClass,
    description:
      'Stopped: every pending VM is canceled, the running ones are aborted and their snapshots removed; answers `canceled` once they are (`canceling` if that takes longer than 30 s). 404: the inspector is not running.',
  })
  @ApiErrors(401, 403, 404, 503, 504)
  stop(): Promise<InspectorStatusDto> {
    return this.client.send(InspectorSubjects.STOP, {}, { timeoutMs: CANCEL_TIMEOUT_MS });
  }

  @Get('inspector/queue')
  @ApiOkResponse({
    type: InspectionQueueDtoClass,
    description: `The queue of the latest start that connected to its source (the one \`GET /vms/{id}/inspector\` reads), first queued first: each VM's state, times and, once inspected, its concerns counted by severity (its results are at \`GET /vms/{id}/inspector\`). \`state\` keeps one state only. A cursor stays in its run's queue even after a new start. Before any start connected: \`runId\` null and no items. ${PAGED_OBJECT}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async queue(
    @Query() query: InspectionQueueRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InspectionQueueDto> {
    const queue = await this.client.send(InspectorSubjects.QUEUE, query);
    pageItems(req, reply, query, queue);
    return queue;
  }

  @Get(':id/inspector')
  @ApiParam({
    name: 'id',
    description: 'The VM id as queued: a vSphere MoRef (vm-1001) or a vm-operator VM id.',
  })
  @ApiOkResponse({
    type: InspectionStatusDtoClass,
    description:
      'The VM in the current run: `not_found` when it is not in its queue; `results` once completed.',
  })
  @ApiErrors(400, 401, 503, 504)
  vmStatus(@Param('id') id: string): Promise<InspectionStatusDto> {
    return this.client.send(InspectorSubjects.VM_STATUS, { id: vmIdOf(id) });
  }

  @Get(':id/inspector/history')
  @ApiParam({ name: 'id', description: 'The VM id as queued.' })
  @ApiOkResponse({
    type: InspectionHistoryDtoClass,
    description: `Every run’s inspection of the VM, newest first. ${PAGED_OBJECT}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async history(
    @Param('id') id: string,
    @Query() query: PageQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InspectionHistoryDto> {
    const history = await this.client.send(InspectorSubjects.VM_HISTORY, { ...query, id: vmIdOf(id) });
    pageItems(req, reply, query, history);
    return history;
  }

  @Delete(':id/inspector')
  @HttpCode(200)
  @ApiParam({ name: 'id', description: 'The VM id as queued.' })
  @ApiOkResponse({
    type: InspectionStatusDtoClass,
    description:
      'Canceled: a pending VM leaves the queue; a running one is aborted and its snapshot removed first. 404: the inspector is not running, or the VM is not in its queue. 409: the VM is already inspected. 423: the inspector is canceling.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 423, 503, 504)
  cancelVm(@Param('id') id: string): Promise<InspectionStatusDto> {
    return this.client.send(
      InspectorSubjects.VM_CANCEL,
      { id: vmIdOf(id) },
      { timeoutMs: CANCEL_TIMEOUT_MS },
    );
  }
}

function vmIdOf(id: string): string {
  if (!INSPECTOR_VM_ID_PATTERN.test(id)) throw invalid('id', 'id must be a non-empty VM id');
  return id;
}

/** PATCH's body is a bare JSON array of VM ids (seed 000). */
function vmIdsOf(body: unknown): string[] {
  const message = 'the body must be a non-empty JSON array of VM ids';
  if (!Array.isArray(body) || body.length === 0) throw invalid('body', message);
  if (!body.every((v) => typeof v === 'string' && INSPECTOR_VM_ID_PATTERN.test(v)))
    throw invalid('body', message);
  return body as string[];
}

function invalid(field: string, message: string): FerryError {
  return FerryError.validation(message, [{ field, messages: [message] }]);
}
