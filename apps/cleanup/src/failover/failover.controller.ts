import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { FailoverJobDto, FailoverJobListDto } from '@ferry/contracts';
import {
  CleanupFailoverRequest,
  FailoverJobIdRequest,
  FailoverSubjects,
  ListFailoverJobsRequest,
  TestFailoverRequest,
} from '@ferry/contracts';
import { FailoverService } from './failover.service';

@Controller()
export class FailoverController {
  constructor(private readonly failover: FailoverService) {}

  @MessagePattern(FailoverSubjects.TEST)
  test(@Payload() req: TestFailoverRequest): Promise<FailoverJobDto> {
    return this.failover.test(req);
  }

  @MessagePattern(FailoverSubjects.CLEANUP)
  cleanup(@Payload() req: CleanupFailoverRequest): Promise<FailoverJobDto> {
    return this.failover.cleanup(req);
  }

  @MessagePattern(FailoverSubjects.JOB_RESUME)
  resume(@Payload() req: FailoverJobIdRequest): Promise<FailoverJobDto> {
    return this.failover.resume(req.id);
  }

  @MessagePattern(FailoverSubjects.JOB_LIST)
  list(@Payload() req: ListFailoverJobsRequest): Promise<FailoverJobListDto> {
    return this.failover.list(req);
  }

  @MessagePattern(FailoverSubjects.JOB_GET)
  get(@Payload() req: FailoverJobIdRequest): Promise<FailoverJobDto> {
    return this.failover.get(req.id);
  }
}
