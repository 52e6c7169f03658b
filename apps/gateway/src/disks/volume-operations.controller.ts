import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  CleanupTestFailoverRequest,
  DiskSubjects,
  OperationIdRequest,
  VolumeOperationDto,
} from '@ferry/contracts';
import { FerryClient } from '@ferry/platform';
import type { FastifyReply } from 'fastify';
import { ApiErrors } from '../http/api-errors.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';

/** Volume operation records (seed 002), served by volume-daemon. */
@ApiTags('disks')
@Controller()
export class VolumeOperationsController {
  constructor(private readonly client: FerryClient) {}

  @Get('volume-operations/:id')
  @ApiOkResponse({
    type: VolumeOperationDto,
    description: 'Type, status, steps done, error and device correlation.',
  })
  @ApiErrors(400, 401, 404, 503, 504)
  get(@Param() params: OperationIdRequest): Promise<VolumeOperationDto> {
    return this.client.send(DiskSubjects.OPERATION_GET, { id: params.id });
  }

  /** Seed 002's daemon call: the volume goes from the test VM back to the appliance VM. */
  @Post('cleanup/test-failover')
  @Idempotent()
  @HttpCode(202)
  @ApiAcceptedResponse({
    type: VolumeOperationDto,
    description:
      "Accepted: test VM off (forced with force_clean) → volume detached → reattached to the appliance VM → verified → test VM deleted (delete_vm). 404 naming every id Ferry does not know, whatever its form (seed 002's own `vm-12345678-test`, `vol-87654321`); nothing changes. 409 when the test VM runs without force_clean or the volume is not on the test VM.",
  })
  @ApiErrors(400, 401, 403, 404, 409, 503, 504)
  async cleanupTestFailover(
    @Body() body: CleanupTestFailoverRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VolumeOperationDto> {
    const op = await this.client.send(DiskSubjects.CLEANUP_TEST_FAILOVER, body);
    void reply.header('location', `/api/v1/volume-operations/${op.id}`);
    return op;
  }
}
