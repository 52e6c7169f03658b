import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CoherenceIssueDto, IssueKind, IssueRepairDto, SubjectType } from '@ferry/contracts';
import type { EntityManager } from 'typeorm';
import { keysetSql, keysetTime } from '@ferry/platform';
import { DataSource } from 'typeorm';
import type { Finding } from '../sweep/finding';
import { findingKey } from '../sweep/finding';

export type IssueStatus = 'pending' | 'open' | 'resolved';

export interface IssueRow {
  id: string;
  key: string;
  kind: IssueKind;
  subject_type: SubjectType;
  subject: string;
  status: IssueStatus;
  expected: string;
  observed: string;
  first_seen: Date;
  last_seen: Date;
  count: number;
  opened_at: Date | null;
  resolved_at: Date | null;
  repair: IssueRepairDto | null;
}

/** What booking reads of an active issue. */
export type ActiveIssue = Pick<IssueRow, 'id' | 'key' | 'kind' | 'subject' | 'status'>;

export function toIssueDto(r: IssueRow): CoherenceIssueDto {
  return {
    id: r.id,
    kind: r.kind,
    subject_type: r.subject_type,
    subject: r.subject,
    expected: r.expected,
    observed: r.observed,
    open: r.status === 'open',
    first_seen: r.first_seen.toISOString(),
    last_seen: r.last_seen.toISOString(),
    count: r.count,
    opened_at: r.opened_at?.toISOString() ?? null,
    resolved_at: r.resolved_at?.toISOString() ?? null,
    repair: r.repair,
  };
}

/** Set-at-a-time SQL: a sweep writes a handful of statements whatever the number of findings. */
@Injectable()
export class IssuesRepository {
  constructor(private readonly ds: DataSource) {}

  /** Pending and open issues (what booking needs of them), locked for this sweep's transaction. */
  async active(em: EntityManager): Promise<ActiveIssue[]> {
    return (await em.query(
      "SELECT id, key, kind, subject, status FROM observer.issues WHERE status IN ('pending','open') FOR UPDATE",
    )) as ActiveIssue[];
  }

  async insert(em: EntityManager, findings: Finding[], now: Date, open: boolean): Promise<IssueRow[]> {
    if (findings.length === 0) return [];
    return (await em.query(
      `INSERT INTO observer.issues (id, key, kind, subject_type, subject, status, expected, observed,
         first_seen, last_seen, count, opened_at)
       SELECT u.id, u.key, u.kind, u.subject_type, u.subject, $8, u.expected, u.observed, $9, $9, 1,
         CASE WHEN $8 = 'open' THEN $9::timestamptz END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
         AS u(id, key, kind, subject_type, subject, expected, observed)
       RETURNING *`,
      [
        findings.map(() => randomUUID()),
        findings.map(findingKey),
        findings.map((f) => f.kind),
        findings.map((f) => f.subjectType),
        findings.map((f) => f.subject),
        findings.map((f) => f.expected),
        findings.map((f) => f.observed),
        open ? 'open' : 'pending',
        now,
      ],
    )) as IssueRow[];
  }

  /**
   * Seen again: count + 1, last seen now, what is observed now; a pending issue opens when its count
   * reaches `openAt`. Returns the rows after when `readBack` (pending issues, which may open); a
   * steady sweep sees thousands of open issues again, and those are only written.
   */
  async seenAgain(
    em: EntityManager,
    seen: { id: string; observed: string }[],
    now: Date,
    openAt: number,
    readBack: boolean,
  ): Promise<IssueRow[]> {
    if (seen.length === 0) return [];
    const [rows] = (await em.query(
      `UPDATE observer.issues AS i SET
         count = i.count + 1, last_seen = $3, observed = u.observed,
         status = CASE WHEN i.status = 'pending' AND i.count + 1 >= $4 THEN 'open' ELSE i.status END,
         opened_at = CASE WHEN i.status = 'pending' AND i.count + 1 >= $4 THEN $3 ELSE i.opened_at END
       FROM unnest($1::uuid[], $2::text[]) AS u(id, observed)
       WHERE i.id = u.id
       ${readBack ? 'RETURNING i.*' : ''}`,
      [seen.map((s) => s.id), seen.map((s) => s.observed), now, openAt],
    )) as [IssueRow[] | undefined, number];
    return readBack ? (rows ?? []) : [];
  }

  async forget(em: EntityManager, ids: string[]): Promise<void> {
    if (ids.length > 0) await em.query('DELETE FROM observer.issues WHERE id = ANY($1::uuid[])', [ids]);
  }

  async resolve(em: EntityManager, ids: string[], now: Date): Promise<IssueRow[]> {
    if (ids.length === 0) return [];
    const [rows] = (await em.query(
      `UPDATE observer.issues SET status = 'resolved', resolved_at = $2
       WHERE id = ANY($1::uuid[]) RETURNING *`,
      [ids, now],
    )) as [IssueRow[], number];
    return rows;
  }

  async setRepair(em: EntityManager, id: string, repair: IssueRepairDto): Promise<IssueRow> {
    const [rows] = (await em.query('UPDATE observer.issues SET repair = $2 WHERE id = $1 RETURNING *', [
      id,
      JSON.stringify(repair),
    ])) as [IssueRow[], number];
    return rows[0]!;
  }

  /**
   * Up to `take` issues newest first by first_seen (it never changes, so pages stay stable), then id,
   * after `after` (a cursor's [first_seen, id]).
   */
  async page(
    filter: { open?: boolean; kind?: IssueKind },
    take: number,
    after: string[] | undefined,
  ): Promise<Array<IssueRow & { page_at: string }>> {
    const statuses = filter.open === undefined ? ['open', 'resolved'] : filter.open ? ['open'] : ['resolved'];
    const keyset = keysetSql(['first_seen', 'id'], ['timestamptz', 'uuid'], 3, 'desc');
    return (await this.ds.query(
      `SELECT *, ${keysetTime('first_seen')} AS page_at FROM observer.issues
        WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR kind = $2) AND ${keyset.after}
        ORDER BY ${keyset.orderBy} LIMIT $5`,
      [statuses, filter.kind ?? null, after?.[0] ?? null, after?.[1] ?? null, take],
    )) as Array<IssueRow & { page_at: string }>;
  }

  async openByKind(): Promise<Partial<Record<IssueKind, number>>> {
    const rows = (await this.ds.query(
      "SELECT kind, count(*)::int AS n FROM observer.issues WHERE status = 'open' GROUP BY kind",
    )) as { kind: IssueKind; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
  }
}
