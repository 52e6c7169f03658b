import { Module } from '@nestjs/common';
import { QemuDriver } from '../drivers/qemu/qemu-driver';
import { VmOperatorConfig } from '../config/vm-operator.config';
import { NetworkModule } from '../network/network.module';
import { TemplatesModule } from '../templates/templates.module';
import { VmLifecycle } from './vm-lifecycle.service';
import { VmReconciler } from './vm-reconcile';
import { VmRecovery } from './vm-recovery.service';
import { VmTransitions } from './vm-events';
import { VmsController } from './vms.controller';
import { DevicesController } from '../devices/devices.controller';
import { DevicesRepository } from '../devices/devices.repository';
import { DevicesService } from '../devices/devices.service';
import { VmsRepository } from './vms.repository';
import { VmsService } from './vms.service';
import { HostFit } from './host-fit';
import { VmDeletion } from './vm-deletion';
import { VmConsoleService } from './vm-console.service';
import { ImagePaths } from '../storage/image-paths';

@Module({
  imports: [TemplatesModule, NetworkModule],
  controllers: [VmsController, DevicesController],
  providers: [
    VmsRepository,
    DevicesRepository,
    DevicesService,
    VmsService,
    VmConsoleService,
    HostFit,
    VmDeletion,
    VmTransitions,
    VmLifecycle,
    VmReconciler,
    VmRecovery,
    {
      provide: ImagePaths,
      inject: [VmOperatorConfig],
      useFactory: (config: VmOperatorConfig) => ImagePaths.fromSetting(config.VM_STORAGE_DIRS),
    },
    {
      provide: QemuDriver,
      inject: [VmOperatorConfig],
      useFactory: (config: VmOperatorConfig) =>
        new QemuDriver({
          runtimeDir: config.VM_RUNTIME_DIR,
          qemuBinary: config.QEMU_BINARY,
          powerdownGraceMs: config.VM_POWERDOWN_GRACE_MS,
          accelerator: config.VM_ACCELERATOR,
        }),
    },
  ],
  exports: [VmsRepository],
})
export class VmsModule {}
