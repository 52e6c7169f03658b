import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { HostCapabilityConfig } from './config/host-capability.config';
import { HOST_CAPABILITY_DATABASE } from './database/host-capability.database';
import { HostsModule } from './hosts/hosts.module';

@Module({})
export class AppModule {
  static register(config: HostCapabilityConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'host-capability', config, database: HOST_CAPABILITY_DATABASE }),
        HostsModule,
      ],
    };
  }
}
