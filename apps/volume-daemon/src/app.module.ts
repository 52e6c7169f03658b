import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { VolumeDaemonConfig } from './config/volume-daemon.config';
import { VOLUME_DATABASE } from './database/volume-daemon.database';
import { DisksModule } from './disks/disks.module';

@Module({})
export class AppModule {
  static register(config: VolumeDaemonConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'volume-daemon', config, database: VOLUME_DATABASE }),
        DisksModule,
      ],
    };
  }
}
