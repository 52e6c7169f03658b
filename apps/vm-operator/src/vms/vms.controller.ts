import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { VmActionAcceptedDto, VmConsoleDto, VmDto, VmListDto } from '@ferry/contracts';
import {
  CreateVmRequest,
  ListVmsRequest,
  VmConsoleRequest,
  VmIdRequest,
  VmStopRequest,
  VmSubjects,
} from '@ferry/contracts';
import { VmConsoleService } from './vm-console.service';
import { VmsService } from './vms.service';

@Controller()
export class VmsController {
  constructor(
    private readonly vms: VmsService,
    private readonly consoles: VmConsoleService,
  ) {}

  @MessagePattern(VmSubjects.CREATE)
  create(@Payload() req: CreateVmRequest): Promise<VmDto> {
    return this.vms.create(req);
  }

  @MessagePattern(VmSubjects.LIST)
  list(@Payload() req: ListVmsRequest): Promise<VmListDto> {
    return this.vms.list(req);
  }

  @MessagePattern(VmSubjects.GET)
  get(@Payload() req: VmIdRequest): Promise<VmDto> {
    return this.vms.get(req.id);
  }

  @MessagePattern(VmSubjects.DELETE)
  async delete(@Payload() req: VmIdRequest): Promise<{ id: string }> {
    await this.vms.delete(req.id);
    return { id: req.id };
  }

  @MessagePattern(VmSubjects.START)
  start(@Payload() req: VmIdRequest): Promise<VmActionAcceptedDto> {
    return this.vms.act(req.id, 'start');
  }

  @MessagePattern(VmSubjects.STOP)
  stop(@Payload() req: VmStopRequest): Promise<VmActionAcceptedDto> {
    return this.vms.act(req.id, 'stop', { force: req.force === true });
  }

  @MessagePattern(VmSubjects.RESTART)
  restart(@Payload() req: VmIdRequest): Promise<VmActionAcceptedDto> {
    return this.vms.act(req.id, 'restart');
  }

  @MessagePattern(VmSubjects.RECONCILE)
  reconcile(@Payload() req: VmIdRequest): Promise<VmDto> {
    return this.vms.reconcile(req.id);
  }

  @MessagePattern(VmSubjects.CONSOLE)
  console(@Payload() req: VmConsoleRequest): Promise<VmConsoleDto> {
    return this.consoles.read(req);
  }
}
