import { Module } from '@nestjs/common';
import { JobStore } from '../jobs/job-store';
import { JobsRepository } from '../jobs/jobs.repository';
import { Peers } from '../saga/peers';
import { SagaRunner } from '../saga/saga-runner';
import { StepHandlers } from '../saga/steps';
import { FailoverController } from './failover.controller';
import { FailoverService } from './failover.service';

@Module({
  controllers: [FailoverController],
  providers: [JobsRepository, JobStore, Peers, StepHandlers, SagaRunner, FailoverService],
  // A migration's VALIDATE is a test failover of its copies.
  exports: [FailoverService, Peers],
})
export class FailoverModule {}
