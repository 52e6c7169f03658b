import type { DynamicModule } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { PlatformModule } from '@ferry/platform';
import type { CleanupConfig } from './config/cleanup.config';
import { CLEANUP_DATABASE } from './database/cleanup.database';
import { FailoverModule } from './failover/failover.module';
import { MigrationsModule } from './migrations/migrations.module';

@Module({})
export class AppModule {
  static register(config: CleanupConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forService({ service: 'cleanup', config, database: CLEANUP_DATABASE }),
        FailoverModule,
        MigrationsModule,
      ],
    };
  }
}
