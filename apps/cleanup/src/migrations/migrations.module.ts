import { Module } from '@nestjs/common';
import { FailoverModule } from '../failover/failover.module';
import { migrationCipherProvider } from './migration-cipher';
import { MigrationRunner } from './migration-runner';
import { MigrationStore } from './migration-store';
import { MigrationsController } from './migrations.controller';
import { MigrationsRepository } from './migrations.repository';
import { MigrationsService } from './migrations.service';
import { SourcePeers } from './source-peers';

/** VM migrations (seed 001's pipeline, then the cutover), beside seed 002's failover jobs. */
@Module({
  imports: [FailoverModule],
  controllers: [MigrationsController],
  providers: [
    MigrationsRepository,
    MigrationStore,
    SourcePeers,
    migrationCipherProvider,
    MigrationRunner,
    MigrationsService,
  ],
})
export class MigrationsModule {}
