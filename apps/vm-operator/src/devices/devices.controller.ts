import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { AttachedDeviceDto, DeviceListDto, PowerStateDto, SnapshotDto } from '@ferry/contracts';
import { AttachDeviceRequest, DeviceRefRequest, DeviceSubjects, VmDevicesRequest } from '@ferry/contracts';
import { DevicesService } from './devices.service';

@Controller()
export class DevicesController {
  constructor(private readonly devices: DevicesService) {}

  @MessagePattern(DeviceSubjects.ATTACH)
  attach(@Payload() req: AttachDeviceRequest): Promise<AttachedDeviceDto> {
    return this.devices.attach(req);
  }

  @MessagePattern(DeviceSubjects.DETACH)
  detach(@Payload() req: DeviceRefRequest): Promise<{ deviceId: string }> {
    return this.devices.detach(req);
  }

  @MessagePattern(DeviceSubjects.LIST)
  list(@Payload() req: VmDevicesRequest): Promise<DeviceListDto> {
    return this.devices.list(req.vmId);
  }

  @MessagePattern(DeviceSubjects.SNAPSHOT)
  snapshot(@Payload() req: DeviceRefRequest): Promise<SnapshotDto> {
    return this.devices.snapshot(req);
  }

  @MessagePattern(DeviceSubjects.CONSOLIDATE)
  consolidate(@Payload() req: DeviceRefRequest): Promise<{ deviceId: string }> {
    return this.devices.consolidate(req);
  }

  @MessagePattern(DeviceSubjects.POWER_STATE)
  powerState(@Payload() req: VmDevicesRequest): Promise<PowerStateDto> {
    return this.devices.powerState(req.vmId);
  }
}
