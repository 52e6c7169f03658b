import type { IssueKind, SubjectType } from '@ferry/contracts';

/** One thing a sweep saw out of line. It becomes an issue after enough consecutive sweeps. */
export interface Finding {
  kind: IssueKind;
  subjectType: SubjectType;
  /** Stable across sweeps: a VM or disk id, `<vm id>/<device id>`, `ferry-<vm id>`, or a file path. */
  subject: string;
  expected: string;
  observed: string;
  /** What a repair needs: the record to ask about, or the file to move. */
  ref: { vmId?: string; diskId?: string; path?: string };
}

export function findingKey(f: Pick<Finding, 'kind' | 'subject'>): string {
  return `${f.kind}:${f.subject}`;
}
