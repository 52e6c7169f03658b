import { Module } from '@nestjs/common';
import { GuestJobRunner } from './guest-job-runner';
import { GuestJobsController } from './guest-jobs.controller';
import { GuestJobsRepository } from './guest-jobs.repository';
import { GuestJobsService } from './guest-jobs.service';

/** Deep inspections of Ferry volumes (`inspector.guest.*`): a migration's INSPECT. */
@Module({
  controllers: [GuestJobsController],
  providers: [GuestJobsRepository, GuestJobRunner, GuestJobsService],
})
export class GuestJobsModule {}
