import { Injectable } from '@nestjs/common';
import type { IssueRepairDto } from '@ferry/contracts';
import { CoherenceEvents } from '@ferry/contracts';
import { EventFactory, Transactional } from '@ferry/platform';
import type { Judgement } from '../sweep/judge';
import { findingKey } from '../sweep/finding';
import type { ActiveIssue, IssueRow } from './issues.repository';
import { IssuesRepository, toIssueDto } from './issues.repository';

export interface BookResult {
  opened: IssueRow[];
  resolved: IssueRow[];
}

/**
 * Turns a sweep's findings into issues, with hysteresis: a finding is `pending` until `hysteresis`
 * consecutive sweeps have seen it, then `open` (event); an open issue no sweep sees any more is
 * `resolved` (event); a pending one not seen again is forgotten (a flicker). Subjects skipped by the
 * sweep (operation in flight) and kinds it could not judge keep their state.
 */
@Injectable()
export class IssueBook {
  constructor(
    private readonly tx: Transactional,
    private readonly events: EventFactory,
    private readonly issues: IssuesRepository,
  ) {}

  async record(j: Judgement, hysteresis: number, now = new Date()): Promise<BookResult> {
    return this.tx.run(async (uow) => {
      const active = new Map((await this.issues.active(uow.em)).map((r) => [r.key, r]));
      const fresh = j.findings.filter((f) => !active.has(findingKey(f)));
      const seen = j.findings
        .map((f) => ({ row: active.get(findingKey(f)), observed: f.observed }))
        .filter((s): s is { row: ActiveIssue; observed: string } => !!s.row);
      const seenKeys = new Set(j.findings.map(findingKey));
      const gone = [...active.values()].filter(
        (r) => !seenKeys.has(r.key) && j.covered.has(r.kind) && !j.skipped.has(r.subject),
      );
      const again = (status: string) =>
        seen.filter((s) => s.row.status === status).map((s) => ({ id: s.row.id, observed: s.observed }));

      const inserted = await this.issues.insert(uow.em, fresh, now, hysteresis <= 1);
      const updated = await this.issues.seenAgain(uow.em, again('pending'), now, hysteresis, true);
      await this.issues.seenAgain(uow.em, again('open'), now, hysteresis, false);
      await this.issues.forget(
        uow.em,
        gone.filter((r) => r.status === 'pending').map((r) => r.id),
      );
      const resolved = await this.issues.resolve(
        uow.em,
        gone.filter((r) => r.status === 'open').map((r) => r.id),
        now,
      );
      const opened = [...inserted, ...updated].filter((r) => r.status === 'open');
      await uow.emitAll([
        ...opened.map((r) =>
          this.events.create(CoherenceEvents.ISSUE_OPENED, r.id, { issue: toIssueDto(r) }),
        ),
        ...resolved.map((r) =>
          this.events.create(CoherenceEvents.ISSUE_RESOLVED, r.id, { issue: toIssueDto(r) }),
        ),
      ]);
      return { opened, resolved };
    });
  }

  /** Records what a repair did, with its event. */
  async repaired(id: string, repair: IssueRepairDto): Promise<IssueRow> {
    return this.tx.run(async (uow) => {
      const row = await this.issues.setRepair(uow.em, id, repair);
      await uow.emit(this.events.create(CoherenceEvents.ISSUE_REPAIRED, id, { issue: toIssueDto(row) }));
      return row;
    });
  }
}
