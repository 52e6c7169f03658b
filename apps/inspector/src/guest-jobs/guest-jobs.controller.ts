import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { GuestInspectionJobDto } from '@ferry/contracts';
import { GuestInspectionIdRequest, GuestInspectionRequest, InspectorSubjects } from '@ferry/contracts';
import { GuestJobsService } from './guest-jobs.service';

@Controller()
export class GuestJobsController {
  constructor(private readonly jobs: GuestJobsService) {}

  @MessagePattern(InspectorSubjects.GUEST_INSPECT)
  inspect(@Payload() req: GuestInspectionRequest): Promise<GuestInspectionJobDto> {
    return this.jobs.inspect(req);
  }

  @MessagePattern(InspectorSubjects.GUEST_GET)
  get(@Payload() req: GuestInspectionIdRequest): Promise<GuestInspectionJobDto> {
    return this.jobs.get(req.id);
  }
}
