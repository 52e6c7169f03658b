import { Module } from '@nestjs/common';
import { InspectorModule } from '../inspector/inspector.module';
import { ExportController } from './export.controller';
import { ExportReaper } from './export-reaper';
import { ExportSessions } from './export-sessions';
import { ExportRepository } from './export.repository';
import { ExportService } from './export.service';

/**
 * Exports of vSphere VMs' disks (`inspector.export.*`): the vSphere side of volume-daemon's imports.
 * It borrows the inspector's credentials cipher, vSphere sessions and recovery pass.
 */
@Module({
  imports: [InspectorModule],
  controllers: [ExportController],
  providers: [ExportRepository, ExportSessions, ExportReaper, ExportService],
})
export class ExportModule {}
