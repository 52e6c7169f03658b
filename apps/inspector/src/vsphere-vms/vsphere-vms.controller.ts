import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { VsphereFactsDto, VspherePowerDto } from '@ferry/contracts';
import { InspectorSubjects, VsphereFactsRequest, VspherePowerRequest } from '@ferry/contracts';
import { VsphereVmsService } from './vsphere-vms.service';

@Controller()
export class VsphereVmsController {
  constructor(private readonly vms: VsphereVmsService) {}

  @MessagePattern(InspectorSubjects.VSPHERE_FACTS)
  facts(@Payload() req: VsphereFactsRequest): Promise<VsphereFactsDto> {
    return this.vms.facts(req);
  }

  @MessagePattern(InspectorSubjects.VSPHERE_POWER)
  power(@Payload() req: VspherePowerRequest): Promise<VspherePowerDto> {
    return this.vms.power(req);
  }
}
