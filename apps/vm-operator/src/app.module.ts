import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { VmOperatorConfig } from './config/vm-operator.config';
import { VM_OPERATOR_DATABASE } from './database/vm-operator.database';
import { TemplatesModule } from './templates/templates.module';
import { VmsModule } from './vms/vms.module';

@Module({})
export class AppModule {
  static register(config: VmOperatorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'vm-operator', config, database: VM_OPERATOR_DATABASE }),
        TemplatesModule,
        VmsModule,
      ],
    };
  }
}
