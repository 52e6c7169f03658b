import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { CoherenceIssueListDto, CoherenceStatusDto } from '@ferry/contracts';
import { CoherenceSubjects, ListIssuesRequest, decodeCursor, pageLimit } from '@ferry/contracts';
import { pageOf } from '@ferry/platform';
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
  /** One page of issues, newest first (first seen, then id). */
  async list(@Payload() req: ListIssuesRequest): Promise<CoherenceIssueListDto> {
    const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor, ['time', 'uuid']);
    const limit = pageLimit(req);
    const rows = await this.issues.page({ open: req.open, kind: req.kind }, limit + 1, after);
    return pageOf(rows, limit, (r) => [r.page_at, r.id], toIssueDto);
  }
}
