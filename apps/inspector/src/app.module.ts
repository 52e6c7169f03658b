import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { InspectorConfig } from './config/inspector.config';
import { INSPECTOR_DATABASE } from './database/inspector.database';
import { ExportModule } from './export/export.module';
import { GuestJobsModule } from './guest-jobs/guest-jobs.module';
import { InspectorModule } from './inspector/inspector.module';
import { VsphereVmsModule } from './vsphere-vms/vsphere-vms.module';

@Module({})
export class AppModule {
  static register(config: InspectorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'inspector', config, database: INSPECTOR_DATABASE }),
        InspectorModule,
        ExportModule,
        GuestJobsModule,
        VsphereVmsModule,
      ],
    };
  }
}
