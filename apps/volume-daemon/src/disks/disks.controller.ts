import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type {
  DiskDto,
  DiskListDto,
  VmDisksDetachedDto,
  VmPowerDto,
  VolumeOperationDto,
} from '@ferry/contracts';
import {
  AttachDiskRequest,
  CancelOperationRequest,
  CleanupTestFailoverRequest,
  ConvertDiskRequest,
  FixDisksRequest,
  CreateDiskRequest,
  DeleteDiskRequest,
  DetachDiskRequest,
  DetachVmDisksRequest,
  DiskIdRequest,
  DiskSubjects,
  ImportDiskRequest,
  ListDisksRequest,
  OperationIdRequest,
  PowerOffRequest,
  VmPowerRequest,
} from '@ferry/contracts';
import { FixesService } from '../fixes/fixes.service';
import { ImportsService } from '../imports/imports.service';
import { PowerService } from '../power/power.service';
import { DisksService } from './disks.service';
import { VmDisksService } from './vm-disks.service';

@Controller()
export class DisksController {
  constructor(
    private readonly disks: DisksService,
    private readonly vmDisks: VmDisksService,
    private readonly power: PowerService,
    private readonly imports: ImportsService,
    private readonly fixes: FixesService,
  ) {}

  @MessagePattern(DiskSubjects.FIX)
  fix(@Payload() req: FixDisksRequest): Promise<VolumeOperationDto> {
    return this.fixes.fix(req);
  }

  @MessagePattern(DiskSubjects.CONVERT)
  convert(@Payload() req: ConvertDiskRequest): Promise<VolumeOperationDto> {
    return this.disks.convert(req);
  }

  @MessagePattern(DiskSubjects.OPERATION_CANCEL)
  cancel(@Payload() req: CancelOperationRequest): Promise<VolumeOperationDto> {
    return this.disks.cancel(req);
  }

  @MessagePattern(DiskSubjects.CREATE)
  create(@Payload() req: CreateDiskRequest): Promise<DiskDto> {
    return this.disks.create(req);
  }

  @MessagePattern(DiskSubjects.LIST)
  list(@Payload() req: ListDisksRequest): Promise<DiskListDto> {
    return this.disks.list(req);
  }

  @MessagePattern(DiskSubjects.GET)
  get(@Payload() req: DiskIdRequest): Promise<DiskDto> {
    return this.disks.get(req.id);
  }

  @MessagePattern(DiskSubjects.DELETE)
  delete(@Payload() req: DeleteDiskRequest): Promise<{ id: string }> {
    return this.disks.delete(req);
  }

  @MessagePattern(DiskSubjects.ATTACH)
  attach(@Payload() req: AttachDiskRequest): Promise<VolumeOperationDto> {
    return this.disks.attach(req);
  }

  @MessagePattern(DiskSubjects.DETACH)
  detach(@Payload() req: DetachDiskRequest): Promise<VolumeOperationDto> {
    return this.disks.detach(req);
  }

  @MessagePattern(DiskSubjects.IMPORT)
  import(@Payload() req: ImportDiskRequest): Promise<VolumeOperationDto> {
    return this.imports.accept(req);
  }

  @MessagePattern(DiskSubjects.RECONCILE)
  reconcile(@Payload() req: DiskIdRequest): Promise<DiskDto> {
    return this.disks.reconcile(req.id);
  }

  @MessagePattern(DiskSubjects.OPERATION_GET)
  operation(@Payload() req: OperationIdRequest): Promise<VolumeOperationDto> {
    return this.disks.operation(req.id);
  }

  @MessagePattern(DiskSubjects.CLEANUP_TEST_FAILOVER)
  cleanupTestFailover(@Payload() req: CleanupTestFailoverRequest): Promise<VolumeOperationDto> {
    return this.disks.cleanupTestFailover(req);
  }

  @MessagePattern(DiskSubjects.DETACH_VM_DISKS)
  detachVmDisks(@Payload() req: DetachVmDisksRequest): Promise<VmDisksDetachedDto> {
    return this.vmDisks.detachAll(req);
  }

  @MessagePattern(DiskSubjects.POWER_STATE)
  powerState(@Payload() req: VmPowerRequest): Promise<VmPowerDto> {
    return this.power.powerState(req.vmId);
  }

  @MessagePattern(DiskSubjects.VALIDATE_POWERED_OFF)
  validatePoweredOff(@Payload() req: VmPowerRequest): Promise<VmPowerDto> {
    return this.power.validatePoweredOff(req.vmId);
  }

  @MessagePattern(DiskSubjects.POWER_OFF)
  powerOff(@Payload() req: PowerOffRequest): Promise<VmPowerDto> {
    return this.power.powerOff(req.vmId, req.timeoutMs);
  }
}
