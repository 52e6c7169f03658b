import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type {
  InspectionHistoryDto,
  InspectionQueueDto,
  InspectionStatusDto,
  InspectorStatusDto,
  WireKeyDto,
} from '@ferry/contracts';
import {
  AddVmsRequest,
  InspectionHistoryRequest,
  InspectionQueueRequest,
  InspectionVmRequest,
  InspectorSubjects,
  StartInspectionRequest,
} from '@ferry/contracts';
import { WireKeyPair } from '@ferry/platform';
import { InspectorService } from './inspector.service';

@Controller()
export class InspectorController {
  constructor(
    private readonly inspector: InspectorService,
    private readonly wire: WireKeyPair,
  ) {}

  /** What callers seal vCenter passwords for before they send them. */
  @MessagePattern(InspectorSubjects.WIRE_KEY)
  wireKey(): WireKeyDto {
    return { publicKey: this.wire.publicKey };
  }

  @MessagePattern(InspectorSubjects.START)
  start(@Payload() req: StartInspectionRequest): Promise<InspectorStatusDto> {
    return this.inspector.start(req);
  }

  @MessagePattern(InspectorSubjects.STATUS)
  status(): Promise<InspectorStatusDto> {
    return this.inspector.status();
  }

  @MessagePattern(InspectorSubjects.ADD)
  add(@Payload() req: AddVmsRequest): Promise<InspectorStatusDto> {
    return this.inspector.add(req.vmIds);
  }

  @MessagePattern(InspectorSubjects.STOP)
  stop(): Promise<InspectorStatusDto> {
    return this.inspector.stop();
  }

  @MessagePattern(InspectorSubjects.QUEUE)
  queue(@Payload() req: InspectionQueueRequest): Promise<InspectionQueueDto> {
    return this.inspector.queue(req);
  }

  @MessagePattern(InspectorSubjects.VM_STATUS)
  vmStatus(@Payload() req: InspectionVmRequest): Promise<InspectionStatusDto> {
    return this.inspector.vmStatus(req.id);
  }

  @MessagePattern(InspectorSubjects.VM_CANCEL)
  cancelVm(@Payload() req: InspectionVmRequest): Promise<InspectionStatusDto> {
    return this.inspector.cancelVm(req.id);
  }

  @MessagePattern(InspectorSubjects.VM_HISTORY)
  history(@Payload() req: InspectionHistoryRequest): Promise<InspectionHistoryDto> {
    return this.inspector.history(req);
  }
}
