import { Module } from '@nestjs/common';
import { IssueBook } from '../issues/issue-book';
import { IssuesRepository } from '../issues/issues.repository';
import { SweepStateRepository } from '../issues/sweep-state.repository';
import { Gatherer } from '../sweep/gather';
import { Repairs } from '../sweep/repairs';
import { Sweeper } from '../sweep/sweeper';
import { CoherenceController } from './coherence.controller';

@Module({
  controllers: [CoherenceController],
  providers: [IssuesRepository, SweepStateRepository, IssueBook, Gatherer, Repairs, Sweeper],
})
export class CoherenceModule {}
