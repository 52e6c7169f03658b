import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FailoverJobDto } from '@ferry/contracts';
import {
  CleanupFailoverBody,
  FailoverJobDto as FailoverJobDtoClass,
  FailoverJobIdRequest,
  FailoverSubjects,
  FailoverVmNameRequest,
  ListFailoverJobsRequest,
  TestFailoverBody,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { PAGED_LIST, PAGE_HEADERS, pageItems } from '../http/page-headers';
import { Idempotent } from '../idempotency/idempotent.decorator';

/** Test failovers and their cleanup (seed 002), served by the cleanup service. */
@ApiTags('failover')
@Controller('failover')
export class FailoverController {
  constructor(private readonly client: FerryClient) {}

  @Post('test/:vm_name')
  @Idempotent()
  @HttpCode(202)
  @ApiBody({ type: TestFailoverBody, required: false })
  @ApiAcceptedResponse({
    type: FailoverJobDtoClass,
    description:
      'Accepted: the test VM `<vm_name>-test-<id>` is created from the template, the volumes move from the appliance VM to it, and it starts; the job then turns `test_active`. Location names the job. 404: the VM has no volumes on the appliance. 409: the VM already has a failover job that is not cleaned up. 422: the template does not exist.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 422, 503, 504)
  async test(
    @Param() params: FailoverVmNameRequest,
    @Body() body: TestFailoverBody = {},
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FailoverJobDto> {
    const job = await this.client.send(FailoverSubjects.TEST, {
      ...body,
      vm_name: params.vm_name,
      requested_by: req.principal?.name,
    });
    return located(job, reply);
  }

  @Post('cleanup/:vm_name')
  @Idempotent()
  @HttpCode(202)
  @ApiBody({ type: CleanupFailoverBody, required: false })
  @ApiAcceptedResponse({
    type: FailoverJobDtoClass,
    description:
      'Accepted: the most recent test failover of the VM is cleaned up — test VM powered off, volumes back on the appliance VM and verified, test VM deleted (`delete_vm`); the job ends `cleanup_completed`, or `cleanup_failed` with a report. 404: no test failover to clean up. 409: a failover or cleanup of the VM is running, or a volume operation is in flight.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async cleanup(
    @Param() params: FailoverVmNameRequest,
    @Body() body: CleanupFailoverBody = {},
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FailoverJobDto> {
    const job = await this.client.send(FailoverSubjects.CLEANUP, {
      ...body,
      vm_name: params.vm_name,
      requested_by: req.principal?.name,
    });
    return located(job, reply);
  }

  @Get('jobs')
  @ApiOkResponse({
    type: [FailoverJobDtoClass],
    description: `Newest first (created_at, then id). ${PAGED_LIST}`,
    headers: PAGE_HEADERS,
  })
  @ApiErrors(400, 401, 503, 504)
  async list(
    @Query() query: ListFailoverJobsRequest,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FailoverJobDto[]> {
    return pageItems(req, reply, query, await this.client.send(FailoverSubjects.JOB_LIST, query));
  }

  @Get('jobs/:id')
  @ApiOkResponse({ type: FailoverJobDtoClass, description: 'The job with its steps, step by step.' })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: FailoverJobIdRequest): Promise<FailoverJobDto> {
    return this.client.send(FailoverSubjects.JOB_GET, { id: params.id });
  }

  @Post('jobs/:id/resume')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: FailoverJobDtoClass,
    description:
      'Accepted: a `cleanup_failed` job, or one whose replica died, goes on from its first step not done. 409 when it is running, test_active, or finished.',
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async resume(
    @Param() params: FailoverJobIdRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FailoverJobDto> {
    return located(await this.client.send(FailoverSubjects.JOB_RESUME, { id: params.id }), reply);
  }
}

function located(job: FailoverJobDto, reply: FastifyReply): FailoverJobDto {
  void reply.header('location', `/api/v1/failover/jobs/${job.id}`);
  return job;
}
