import { Injectable } from '@nestjs/common';
import type {
  ConcernSeverity,
  InspectionResults,
  InspectionSourceType,
  InspectionState,
  InspectorState,
} from '@ferry/contracts';
import { keysetSql, keysetTime } from '@ferry/platform';
import type { EntityManager } from 'typeorm';
import { DataSource } from 'typeorm';
import type { SnapshotRef } from '../sources/source';

export interface RunRecord {
  id: string;
  sourceType: InspectionSourceType;
  /** What the source is, without secrets. */
  source: Record<string, unknown>;
  state: InspectorState;
  error: string | null;
  credentials: Buffer | null;
  credentialsKeyId: string | null;
  acceptedBy: string;
  correlationId: string | null;
  initializedAt: Date | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface QueueRecord {
  runId: string;
  vmId: string;
  seq: number;
  state: InspectionState;
  error: string | null;
  results: InspectionResults | null;
  claimedBy: string | null;
  cancelRequested: boolean;
  attempts: number;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface IntentRecord {
  id: string;
  runId: string;
  vmId: string;
  name: string;
  description: string;
  ref: SnapshotRef | null;
  state: 'intended' | 'created' | 'removed';
  claimedBy: string;
  /** The VM's inspection in the intent's run, as it is now. */
  vmState: InspectionState | null;
  vmClaimedBy: string | null;
}

/** How many of an inspection's concerns are of each severity. */
export type ConcernCounts = Record<ConcernSeverity, number>;

/** How a VM's inspection ended. */
export interface Outcome {
  state: 'completed' | 'error' | 'canceled';
  error?: string;
  results?: InspectionResults;
}

export const TERMINAL_RUN_STATES: readonly InspectorState[] = ['done', 'canceled', 'error'];

const RUN = `id, source_type AS "sourceType", source, state, error, credentials,
  credentials_key_id AS "credentialsKeyId", accepted_by AS "acceptedBy", correlation_id AS "correlationId",
  initialized_at AS "initializedAt", created_at AS "createdAt", finished_at AS "finishedAt"`;
const queueColumns = (t: string): string =>
  `${t}.run_id AS "runId", ${t}.vm_id AS "vmId", ${t}.seq::float8 AS seq, ${t}.state, ${t}.error, ${t}.results,
   ${t}.claimed_by AS "claimedBy", ${t}.cancel_requested AS "cancelRequested", ${t}.attempts,
   ${t}.queued_at AS "queuedAt", ${t}.started_at AS "startedAt", ${t}.finished_at AS "finishedAt"`;
const QUEUE = queueColumns('inspector.queue');

/** The only code that reads or writes the inspector's tables. */
@Injectable()
export class QueueRepository {
  constructor(private readonly ds: DataSource) {}

  // ---- runs ------------------------------------------------------------------------------------

  /** The current run (the inspector's state), or null before the first start. */
  async current(em: EntityManager = this.ds.manager): Promise<RunRecord | null> {
    const rows = (await em.query(
      `SELECT ${RUN} FROM inspector.runs WHERE id = (SELECT current_run FROM inspector.control WHERE id = 1)`,
    )) as RunRecord[];
    return rows[0] ?? null;
  }

  /**
   * The run whose queue the per-VM statuses show: the latest whose start got past its Init work (the
   * source opened and its VMs were queued). A start that is still connecting, or whose connection
   * failed, is current (the inspector's state) but has cleared nothing, as in seed 000's Start flow.
   */
  async queueRun(em: EntityManager = this.ds.manager): Promise<RunRecord | null> {
    const rows = (await em.query(
      `SELECT ${RUN} FROM inspector.runs WHERE initialized_at IS NOT NULL ORDER BY initialized_at DESC, created_at DESC LIMIT 1`,
    )) as RunRecord[];
    return rows[0] ?? null;
  }

  /** The current run with the control row locked: starts serialize on it. */
  async lockCurrent(em: EntityManager): Promise<RunRecord | null> {
    await em.query(`SELECT current_run FROM inspector.control WHERE id = 1 FOR UPDATE`);
    return this.current(em);
  }

  async lockRun(em: EntityManager, id: string): Promise<RunRecord | null> {
    const rows = (await em.query(`SELECT ${RUN} FROM inspector.runs WHERE id = $1 FOR UPDATE`, [
      id,
    ])) as RunRecord[];
    return rows[0] ?? null;
  }

  async findRun(id: string): Promise<RunRecord | null> {
    const rows = (await this.ds.query(`SELECT ${RUN} FROM inspector.runs WHERE id = $1`, [
      id,
    ])) as RunRecord[];
    return rows[0] ?? null;
  }

  async insertRun(
    em: EntityManager,
    run: Pick<RunRecord, 'id' | 'sourceType' | 'source' | 'state' | 'acceptedBy' | 'correlationId'> & {
      error?: string | null;
      credentials?: Buffer | null;
      credentialsKeyId?: string | null;
    },
  ): Promise<void> {
    const terminal = TERMINAL_RUN_STATES.includes(run.state);
    await em.query(
      `INSERT INTO inspector.runs (id, source_type, source, state, error, credentials, credentials_key_id,
         accepted_by, correlation_id, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10::boolean THEN now() END)`,
      [
        run.id,
        run.sourceType,
        JSON.stringify(run.source),
        run.state,
        run.error ?? null,
        run.credentials ?? null,
        run.credentialsKeyId ?? null,
        run.acceptedBy,
        run.correlationId,
        terminal,
      ],
    );
    await em.query(`UPDATE inspector.control SET current_run = $1 WHERE id = 1`, [run.id]);
  }

  /**
   * Moves a run from one of `from` to `to`; returns the state it left, or null when it was in none
   * of them. A terminal state stamps `finished_at`.
   */
  async setRunState(
    em: EntityManager,
    id: string,
    from: readonly InspectorState[],
    to: InspectorState,
    error: string | null = null,
  ): Promise<InspectorState | null> {
    const [rows] = (await em.query(
      `UPDATE inspector.runs r SET state = $3, error = $4, updated_at = now(),
              finished_at = CASE WHEN $5::boolean THEN now() ELSE r.finished_at END
         FROM (SELECT id, state AS prev FROM inspector.runs WHERE id = $1 FOR UPDATE) o
        WHERE r.id = o.id AND r.state = ANY($2::text[])
        RETURNING o.prev`,
      [id, from, to, error, TERMINAL_RUN_STATES.includes(to)],
    )) as [{ prev: InspectorState }[], number];
    return rows[0]?.prev ?? null;
  }

  /** The start finished connecting and queueing: workers may begin (if nobody stopped it meanwhile). */
  async markInitialized(em: EntityManager, id: string): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE inspector.runs SET initialized_at = now(), updated_at = now() WHERE id = $1 AND state = 'started'`,
      [id],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Forgets a finished run's credentials once none of its snapshots may still need removing. */
  async wipeCredentials(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE inspector.runs SET credentials = NULL
        WHERE id = $1 AND credentials IS NOT NULL AND state = ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM inspector.snapshot_intents WHERE run_id = $1 AND state <> 'removed')`,
      [id, TERMINAL_RUN_STATES],
    );
  }

  /** Runs that are not finished, but the current one: a crash between two starts can leave one. */
  async unfinishedRuns(): Promise<RunRecord[]> {
    return (await this.ds.query(
      `SELECT ${RUN} FROM inspector.runs WHERE NOT (state = ANY($1::text[])) ORDER BY created_at`,
      [TERMINAL_RUN_STATES],
    )) as RunRecord[];
  }

  // ---- the queue -------------------------------------------------------------------------------

  /**
   * Queues VMs at the end of the run's queue, in the order given. A VM already queued stays as it is,
   * unless it was canceled or failed: then it is queued again. Returns each queued VM with the state
   * it left (null when new).
   */
  async enqueue(
    em: EntityManager,
    runId: string,
    vmIds: string[],
  ): Promise<{ vmId: string; from: InspectionState | null }[]> {
    const before = new Map(
      (
        (await em.query(
          `SELECT vm_id, state FROM inspector.queue WHERE run_id = $1 AND vm_id = ANY($2::text[])`,
          [runId, vmIds],
        )) as { vm_id: string; state: InspectionState }[]
      ).map((r) => [r.vm_id, r.state]),
    );
    const rows = (await em.query(
      `INSERT INTO inspector.queue (run_id, vm_id, seq, state)
       SELECT $1, t.vm, nextval('inspector.queue_seq'), 'pending'
         FROM (SELECT vm, ord FROM unnest($2::text[]) WITH ORDINALITY AS u(vm, ord) ORDER BY ord) t
       ON CONFLICT (run_id, vm_id) DO UPDATE
          SET state = 'pending', seq = nextval('inspector.queue_seq'), error = NULL, results = NULL,
              cancel_requested = false, claimed_by = NULL, queued_at = now(), started_at = NULL,
              finished_at = NULL
        WHERE inspector.queue.state IN ('canceled', 'error')
       RETURNING vm_id`,
      [runId, vmIds],
    )) as { vm_id: string }[];
    return rows.map((r) => ({ vmId: r.vm_id, from: before.get(r.vm_id) ?? null }));
  }

  async get(runId: string, vmId: string): Promise<QueueRecord | null> {
    const rows = (await this.ds.query(
      `SELECT ${QUEUE} FROM inspector.queue WHERE run_id = $1 AND vm_id = $2`,
      [runId, vmId],
    )) as QueueRecord[];
    return rows[0] ?? null;
  }

  async lockEntry(em: EntityManager, runId: string, vmId: string): Promise<QueueRecord | null> {
    const rows = (await em.query(
      `SELECT ${QUEUE} FROM inspector.queue WHERE run_id = $1 AND vm_id = $2 FOR UPDATE`,
      [runId, vmId],
    )) as QueueRecord[];
    return rows[0] ?? null;
  }

  /**
   * One page of a VM's inspections, newest first by (queued_at, run_id), a unique key (a VM is queued
   * once per run), after `after` (a cursor's [queued_at, run_id]); `take` rows, with their run's source.
   */
  async history(
    vmId: string,
    take: number,
    after: string[] | undefined,
  ): Promise<(QueueRecord & { sourceType: InspectionSourceType; pageAt: string })[]> {
    const keyset = keysetSql(['q.queued_at', 'q.run_id'], ['timestamptz', 'uuid'], 2, 'desc');
    return (await this.ds.query(
      `SELECT ${queueColumns('q')}, r.source_type AS "sourceType", ${keysetTime('q.queued_at')} AS "pageAt"
         FROM inspector.queue q JOIN inspector.runs r ON r.id = q.run_id
        WHERE q.vm_id = $1 AND ${keyset.after}
        ORDER BY ${keyset.orderBy} LIMIT $4`,
      [vmId, after?.[0] ?? null, after?.[1] ?? null, take],
    )) as (QueueRecord & { sourceType: InspectionSourceType; pageAt: string })[];
  }

  /**
   * One page of a run's queue in its order (seq), after `afterSeq`, `take` rows, optionally of one
   * state only; results stay behind, only their concerns are counted by severity.
   */
  async page(
    runId: string,
    state: InspectionState | undefined,
    take: number,
    afterSeq: string | undefined,
  ): Promise<(Omit<QueueRecord, 'results'> & { concerns: ConcernCounts | null })[]> {
    return (await this.ds.query(
      `SELECT q.run_id AS "runId", q.vm_id AS "vmId", q.seq::float8 AS seq, q.state, q.error,
              q.claimed_by AS "claimedBy", q.cancel_requested AS "cancelRequested", q.attempts,
              q.queued_at AS "queuedAt", q.started_at AS "startedAt", q.finished_at AS "finishedAt",
              CASE WHEN q.results IS NOT NULL THEN (
                SELECT json_build_object(
                         'blocker', count(*) FILTER (WHERE c->>'severity' = 'blocker'),
                         'warning', count(*) FILTER (WHERE c->>'severity' = 'warning'),
                         'info', count(*) FILTER (WHERE c->>'severity' = 'info'))
                  FROM jsonb_array_elements(COALESCE(q.results->'concerns', '[]'::jsonb)) c) END AS concerns
         FROM inspector.queue q
        WHERE q.run_id = $1 AND ($2::text IS NULL OR q.state = $2) AND ($3::bigint IS NULL OR q.seq > $3)
        ORDER BY q.seq LIMIT $4`,
      [runId, state ?? null, afterSeq ?? null, take],
    )) as (Omit<QueueRecord, 'results'> & { concerns: ConcernCounts | null })[];
  }

  async counts(em: EntityManager, runId: string): Promise<{ pending: number; running: number }> {
    const [row] = (await em.query(
      `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
              count(*) FILTER (WHERE state = 'running')::int AS running
         FROM inspector.queue WHERE run_id = $1 AND state IN ('pending', 'running')`,
      [runId],
    )) as { pending: number; running: number }[];
    return row!;
  }

  /**
   * Claims up to `limit` pending VMs, first queued first, for `me`; rows another replica is claiming
   * are skipped, not waited for. The caller holds the run's lock and has checked the slots.
   */
  async claim(em: EntityManager, runId: string, me: string, limit: number): Promise<QueueRecord[]> {
    const [rows] = (await em.query(
      `UPDATE inspector.queue q SET state = 'running', claimed_by = $2, started_at = now(),
              attempts = q.attempts + 1
         FROM (SELECT vm_id FROM inspector.queue WHERE run_id = $1 AND state = 'pending'
                ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED) c
        WHERE q.run_id = $1 AND q.vm_id = c.vm_id
        RETURNING ${queueColumns('q')}`,
      [runId, me, limit],
    )) as [QueueRecord[], number];
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Ends a VM's inspection (only if `me` still runs it) and, when `next`, hands its slot to the next
   * pending VM of a run that is still running, in the same statement. Returns whether the VM was
   * ended here and the VM claimed.
   */
  async finish(
    em: EntityManager,
    runId: string,
    vmId: string,
    me: string,
    outcome: Outcome,
    next: boolean,
  ): Promise<{ finished: boolean; next: QueueRecord | null }> {
    const [row] = (await em.query(
      `WITH done AS (
         UPDATE inspector.queue SET state = $4, error = $5, results = $6, finished_at = now()
          WHERE run_id = $1 AND vm_id = $2 AND state = 'running' AND claimed_by = $3
          RETURNING vm_id),
       nxt AS (
         UPDATE inspector.queue q SET state = 'running', claimed_by = $3, started_at = now(),
                attempts = q.attempts + 1
           FROM (SELECT vm_id FROM inspector.queue
                  WHERE $7::boolean AND run_id = $1 AND state = 'pending'
                    AND EXISTS (SELECT 1 FROM inspector.runs WHERE id = $1 AND state = 'running')
                  ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) c
          WHERE q.run_id = $1 AND q.vm_id = c.vm_id
          RETURNING ${queueColumns('q')})
       SELECT (SELECT count(*) FROM done)::int AS finished, (SELECT row_to_json(n) FROM nxt n) AS next`,
      [
        runId,
        vmId,
        me,
        outcome.state,
        outcome.error ?? null,
        outcome.results ? JSON.stringify(outcome.results) : null,
        next,
      ],
    )) as {
      finished: number;
      next: (Omit<QueueRecord, 'queuedAt' | 'startedAt'> & Record<string, unknown>) | null;
    }[];
    const claimed = row!.next
      ? ({
          ...row!.next,
          queuedAt: new Date(row!.next.queuedAt as string),
          startedAt: new Date(row!.next.startedAt as string),
        } as QueueRecord)
      : null;
    return { finished: row!.finished === 1, next: claimed };
  }

  /** Cancels every pending VM of a run; returns their ids. */
  async cancelPending(em: EntityManager, runId: string, error: string | null = null): Promise<string[]> {
    const [rows] = (await em.query(
      `UPDATE inspector.queue SET state = 'canceled', error = $2, finished_at = now()
        WHERE run_id = $1 AND state = 'pending' RETURNING vm_id`,
      [runId, error],
    )) as [{ vm_id: string }[], number];
    return rows.map((r) => r.vm_id);
  }

  /** Cancels one pending VM; false when it is not pending. */
  async cancelOne(em: EntityManager, runId: string, vmId: string): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE inspector.queue SET state = 'canceled', finished_at = now()
        WHERE run_id = $1 AND vm_id = $2 AND state = 'pending'`,
      [runId, vmId],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Asks whoever runs these VMs (all of the run's when `vmId` is absent) to stop. */
  async requestCancel(em: EntityManager, runId: string, vmId?: string): Promise<number> {
    const [, affected] = (await em.query(
      `UPDATE inspector.queue SET cancel_requested = true
        WHERE run_id = $1 AND state = 'running' AND ($2::text IS NULL OR vm_id = $2)`,
      [runId, vmId ?? null],
    )) as [unknown, number];
    return affected;
  }

  /** The VMs `me` runs that should stop: canceled, taken over, or their run no longer running. */
  async toAbort(runId: string, vmIds: string[], me: string): Promise<Map<string, string>> {
    const rows = (await this.ds.query(
      `SELECT q.vm_id, q.state, q.claimed_by, q.cancel_requested, r.state AS run_state
         FROM inspector.queue q JOIN inspector.runs r ON r.id = q.run_id
        WHERE q.run_id = $1 AND q.vm_id = ANY($2::text[])`,
      [runId, vmIds],
    )) as {
      vm_id: string;
      state: string;
      claimed_by: string;
      cancel_requested: boolean;
      run_state: string;
    }[];
    const abort = new Map<string, string>();
    for (const r of rows) {
      if (r.state !== 'running' || r.claimed_by !== me) abort.set(r.vm_id, 'taken over');
      else if (r.cancel_requested) abort.set(r.vm_id, 'canceled');
      else if (r.run_state !== 'running') abort.set(r.vm_id, `the inspector is ${r.run_state}`);
    }
    return abort;
  }

  /** VMs marked running by a replica other than `me`. */
  async runningElsewhere(
    me: string,
  ): Promise<{ runId: string; vmId: string; claimedBy: string; attempts: number }[]> {
    return (await this.ds.query(
      `SELECT run_id AS "runId", vm_id AS "vmId", claimed_by AS "claimedBy", attempts
         FROM inspector.queue WHERE state = 'running' AND claimed_by IS DISTINCT FROM $1`,
      [me],
    )) as { runId: string; vmId: string; claimedBy: string; attempts: number }[];
  }

  /** Takes a running VM over from a dead replica (compare-and-set on its claimer). */
  async adopt(em: EntityManager, runId: string, vmId: string, from: string, me: string): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE inspector.queue SET claimed_by = $4
        WHERE run_id = $1 AND vm_id = $2 AND state = 'running' AND claimed_by = $3`,
      [runId, vmId, from, me],
    )) as [unknown, number];
    return affected === 1;
  }

  /** Puts an adopted VM back in the queue, at its old place. */
  async requeue(em: EntityManager, runId: string, vmId: string, me: string): Promise<boolean> {
    const [, affected] = (await em.query(
      `UPDATE inspector.queue SET state = 'pending', claimed_by = NULL, started_at = NULL, cancel_requested = false
        WHERE run_id = $1 AND vm_id = $2 AND state = 'running' AND claimed_by = $3`,
      [runId, vmId, me],
    )) as [unknown, number];
    return affected === 1;
  }

  // ---- snapshot intents ------------------------------------------------------------------------

  /** Written (and committed) before the snapshot is asked for, so that a crash cannot forget it. */
  async recordIntent(
    intent: Pick<IntentRecord, 'id' | 'runId' | 'vmId' | 'name' | 'description' | 'claimedBy'>,
  ): Promise<void> {
    await this.ds.query(
      `INSERT INTO inspector.snapshot_intents (id, run_id, vm_id, name, description, state, claimed_by)
       VALUES ($1, $2, $3, $4, $5, 'intended', $6)`,
      [intent.id, intent.runId, intent.vmId, intent.name, intent.description, intent.claimedBy],
    );
  }

  async intentCreated(id: string, ref: SnapshotRef): Promise<void> {
    await this.ds.query(`UPDATE inspector.snapshot_intents SET state = 'created', ref = $2 WHERE id = $1`, [
      id,
      JSON.stringify(ref),
    ]);
  }

  async intentRemoved(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE inspector.snapshot_intents SET state = 'removed', removed_at = now(), error = NULL WHERE id = $1`,
      [id],
    );
  }

  async intentFailed(id: string, error: string): Promise<void> {
    await this.ds.query(`UPDATE inspector.snapshot_intents SET error = $2 WHERE id = $1`, [id, error]);
  }

  /** Snapshots not known to be removed, with the state of their VM's inspection. */
  async openIntents(): Promise<IntentRecord[]> {
    return (await this.ds.query(
      `SELECT i.id, i.run_id AS "runId", i.vm_id AS "vmId", i.name, i.description, i.ref, i.state,
              i.claimed_by AS "claimedBy", q.state AS "vmState", q.claimed_by AS "vmClaimedBy"
         FROM inspector.snapshot_intents i
         LEFT JOIN inspector.queue q ON q.run_id = i.run_id AND q.vm_id = i.vm_id
        WHERE i.state <> 'removed' ORDER BY i.created_at`,
    )) as IntentRecord[];
  }

  async adoptIntent(id: string, from: string, me: string): Promise<boolean> {
    const [, affected] = (await this.ds.query(
      `UPDATE inspector.snapshot_intents SET claimed_by = $3 WHERE id = $1 AND claimed_by = $2 AND state <> 'removed'`,
      [id, from, me],
    )) as [unknown, number];
    return affected === 1;
  }
}
