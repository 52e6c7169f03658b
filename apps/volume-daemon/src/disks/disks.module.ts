import { Module } from '@nestjs/common';
import { volumeBackendProvider } from '../backends/backend.provider';
import { FixesService } from '../fixes/fixes.service';
import { guestFixerProvider } from '../fixes/guest-fixer';
import { ImportsService } from '../imports/imports.service';
import { SourceAccess } from '../imports/source-access';
import { OperationRunner } from '../operations/operation-runner';
import { OperationsRepository } from '../operations/operations.repository';
import { PowerService } from '../power/power.service';
import { DiskTransitions } from './disk-transitions';
import { DisksController } from './disks.controller';
import { DisksRepository } from './disks.repository';
import { DisksService } from './disks.service';
import { References } from './references';
import { VmDisksService } from './vm-disks.service';

@Module({
  controllers: [DisksController],
  providers: [
    volumeBackendProvider,
    DisksRepository,
    OperationsRepository,
    DiskTransitions,
    OperationRunner,
    DisksService,
    References,
    VmDisksService,
    PowerService,
    SourceAccess,
    ImportsService,
    guestFixerProvider,
    FixesService,
  ],
})
export class DisksModule {}
