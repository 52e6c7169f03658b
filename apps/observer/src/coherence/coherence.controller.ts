import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { CoherenceIssueDto, CoherenceStatusDto } from '@ferry/contracts';
import { CoherenceSubjects, ListIssuesRequest } from '@ferry/contracts';
import { IssuesRepository, toIssueDto } from '../issues/issues.repository';
import { Sweeper } from '../sweep/sweeper';

@Controller()
export class CoherenceController {
  constructor(
    private readonly sweeper: Sweeper,
    private readonly issues: IssuesRepository,
  ) {}

  @MessagePattern(CoherenceSubjects.STATUS)
  status(): Promise<CoherenceStatusDto> {
    return this.sweeper.status();
  }

  @MessagePattern(CoherenceSubjects.SWEEP)
  sweep(): Promise<CoherenceStatusDto> {
    return this.sweeper.sweepNow();
  }

  @MessagePattern(CoherenceSubjects.ISSUE_LIST)
  async list(@Payload() req: ListIssuesRequest): Promise<{ items: CoherenceIssueDto[] }> {
    return { items: (await this.issues.list(req)).map(toIssueDto) };
  }
}
