import { Module } from '@nestjs/common';
import { InspectorModule } from '../inspector/inspector.module';
import { VsphereVmsController } from './vsphere-vms.controller';
import { VsphereVmsService } from './vsphere-vms.service';

/** A vSphere VM's facts and power, for migrations (no run, no snapshot). */
@Module({
  imports: [InspectorModule],
  controllers: [VsphereVmsController],
  providers: [VsphereVmsService],
})
export class VsphereVmsModule {}
