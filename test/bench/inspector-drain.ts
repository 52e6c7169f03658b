import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { eventually } from '@ferry/testing';
import { Suite } from '../support/suite';
import type { Got } from './load';
import { getter, median, percentiles, times } from './load';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const VMS = Number(process.env['BENCH_INSPECTOR_VMS'] ?? 10_000);
/** Slots of the inspector: the seed's one at a time, and several at once. */
/** Rows per page of the queue walk (the most a page may hold). */
const QUEUE_LIMIT = 1000;
const CONCURRENCIES = (process.env['BENCH_INSPECTOR_CONCURRENCY'] ?? '1,8').split(',').map(Number);

/**
 * The floor: a naive loop that claims one row with FOR UPDATE SKIP LOCKED and marks it done, one
 * transaction per row, on the same Postgres. No states kept but one, no events.
 */
async function floor(url: string): Promise<number> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    await pg.query(`DROP TABLE IF EXISTS bench_floor`);
    await pg.query(`CREATE TABLE bench_floor (vm_id text PRIMARY KEY, seq bigserial, state text NOT NULL)`);
    await pg.query(`CREATE INDEX bench_floor_pending ON bench_floor (seq) WHERE state = 'pending'`);
    await pg.query(
      `INSERT INTO bench_floor (vm_id, state) SELECT 'vm-' || g, 'pending' FROM generate_series(1, $1) g`,
      [VMS],
    );
    const started = process.hrtime.bigint();
    for (;;) {
      await pg.query('BEGIN');
      const { rows } = await pg.query<{ vm_id: string }>(
        `SELECT vm_id FROM bench_floor WHERE state = 'pending' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
      );
      if (rows.length === 0) {
        await pg.query('COMMIT');
        break;
      }
      await pg.query(`UPDATE bench_floor SET state = 'done' WHERE vm_id = $1`, [rows[0]!.vm_id]);
      await pg.query('COMMIT');
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return VMS / seconds;
  } finally {
    await pg.query(`DROP TABLE IF EXISTS bench_floor`).catch(() => undefined);
    await pg.end();
  }
}

/**
 * Drains VMS queued VMs through the real inspector with the zero-cost noop work unit: POST start
 * through the gateway, then until GET says `done`. Checks that each VM ended `completed` and has its
 * running/completed states and its `inspected` event in the outbox.
 */
async function drain(suite: Suite): Promise<{ vmsPerS: number; enqueueMs: number }> {
  const tag = randomBytes(3).toString('hex');
  const vmIds = Array.from({ length: VMS }, (_, i) => `vm-${tag}-${i}`);
  const t0 = process.hrtime.bigint();
  const res = await suite.request<{ state: string }>('POST', '/api/v1/vms/inspector', {
    body: { source: { type: 'noop' }, vmIds },
  });
  if (res.status !== 202) throw new Error(`start answered ${res.status}: ${JSON.stringify(res.body)}`);
  const t1 = process.hrtime.bigint();
  await eventually(
    async () => {
      const s = await suite.request<{ state: string }>('GET', '/api/v1/vms/inspector');
      if (s.body.state === 'error') throw new Error('the inspector failed');
      return s.body.state === 'done' ? true : undefined;
    },
    600_000,
    'the queue drained',
  );
  const seconds = Number(process.hrtime.bigint() - t1) / 1e9;
  const [check] = await suite.query<{ completed: number; vms: number }>(
    `SELECT count(*) FILTER (WHERE state = 'completed')::int AS completed, count(*)::int AS vms
       FROM inspector.queue WHERE vm_id LIKE $1`,
    [`vm-${tag}-%`],
  );
  const [events] = await suite.query<{ inspected: number; changes: number }>(
    `SELECT count(*) FILTER (WHERE type = 'ferry.inspector.vm.inspected')::int AS inspected,
            count(*) FILTER (WHERE type = 'ferry.inspector.vm.state-changed')::int AS changes
       FROM inspector.outbox WHERE payload->>'subject' LIKE $1`,
    [`vm-${tag}-%`],
  );
  if (check!.completed !== VMS || events!.inspected !== VMS || events!.changes !== 3 * VMS) {
    throw new Error(`drain lost something: ${JSON.stringify({ ...check, ...events })}`);
  }
  return { vmsPerS: VMS / seconds, enqueueMs: Number(t1 - t0) / 1e6 };
}

/**
 * Issue 19's `GET /vms/inspector/queue` over the drained run of VMS VMs: walked once through
 * `Link: rel="next"` (every VM once, in queue order, or the bench fails), then every page read RUNS
 * times, against the page's own SQL on Postgres (the floor); and `?state=error`, which matches no VM
 * and so reads the whole queue for one empty page.
 */
async function queueWalk(suite: Suite, emit: (line: Record<string, unknown>) => void): Promise<void> {
  const get = getter(suite.gatewayUrl, suite.adminKey);
  const pages: string[] = [];
  let last = -1;
  let count = 0;
  for (let path: string | undefined = `/api/v1/vms/inspector/queue?limit=${QUEUE_LIMIT}`; path;) {
    const res: Got = await get(path);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body}`);
    for (const item of (JSON.parse(res.body) as { items: { sequence: number }[] }).items) {
      if (item.sequence <= last) throw new Error('the queue walk went backwards');
      last = item.sequence;
      count++;
    }
    pages.push(path);
    path = res.link ? /^<([^>]+)>/.exec(res.link)?.[1] : undefined;
  }
  if (count !== VMS) throw new Error(`the queue walk listed ${count} of ${VMS} VMs`);
  const [run] = await suite.query<{ id: string }>(
    `SELECT id FROM inspector.runs ORDER BY initialized_at DESC NULLS LAST LIMIT 1`,
  );
  const keys = pages.map((p) => {
    const cursor = new URL(p, 'http://x').searchParams.get('cursor');
    return cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as string[])[1]! : null;
  });
  const sql = `SELECT vm_id, seq, state, error, queued_at, started_at, finished_at, results->'concerns' AS concerns
    FROM inspector.queue WHERE run_id = $1 AND ($2::bigint IS NULL OR seq > $2) ORDER BY seq LIMIT $3`;
  const floor: bigint[] = [];
  const paged: bigint[] = [];
  const empty: bigint[] = [];
  const page = async (p: string) => {
    const res = await get(p);
    if (res.status !== 200) throw new Error(`GET ${p} answered ${res.status}`);
  };
  // One connection held open, as the inspector's pool holds its own.
  const pg = new Client({ connectionString: suite.db.url });
  await pg.connect();
  try {
    for (let r = 0; r < RUNS; r++) {
      floor.push(...(await times(keys, (k) => pg.query(sql, [run!.id, k, QUEUE_LIMIT + 1]))));
      paged.push(...(await times(pages, page)));
      empty.push(...(await times(pages, () => page('/api/v1/vms/inspector/queue?state=error'))));
    }
  } finally {
    await pg.end();
  }
  const g = percentiles(paged);
  const f = percentiles(floor);
  emit({
    bench: 'inspector_queue_page',
    vms: VMS,
    limit: QUEUE_LIMIT,
    pages: pages.length,
    n: g.n,
    p50_us: g.p50_us,
    p99_us: g.p99_us,
    floor_pg_page_p50_us: f.p50_us,
    ratio_vs_pg_page: Number((g.p50_us / f.p50_us).toFixed(2)),
    state_filter_no_match_p50_us: percentiles(empty).p50_us,
  });
}

/**
 * Issue 5's bar: the inspector drains a queue of VMS zero-cost VMs at least as fast as the naive
 * SKIP LOCKED loop, while keeping each VM's states (pending → running → completed) and events.
 */
export async function benchInspectorDrain(emit: (line: Record<string, unknown>) => void): Promise<void> {
  const suite = await Suite.start(['gateway'], { RATE_LIMIT_PER_SECOND: '0', API_KEY_CACHE_TTL_MS: '30000' });
  try {
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) floors.push(await floor(suite.db.url));
    const floorRate = median(floors);
    emit({
      bench: 'inspector_drain_floor_skip_locked',
      vms: VMS,
      runs: RUNS,
      vms_per_s: Math.round(floorRate),
    });

    for (const concurrency of CONCURRENCIES) {
      await suite.startService('inspector', {
        INSPECTOR_CONCURRENCY: String(concurrency),
        DB_POOL_SIZE: '10',
      });
      const runs: { vmsPerS: number; enqueueMs: number }[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await drain(suite));
      if (concurrency === CONCURRENCIES[0]) await queueWalk(suite, emit);
      await suite.process('inspector').stop();
      const rate = median(runs.map((r) => r.vmsPerS));
      emit({
        bench: 'inspector_drain',
        vms: VMS,
        runs: RUNS,
        concurrency,
        vms_per_s: Math.round(rate),
        enqueue_ms: Math.round(median(runs.map((r) => r.enqueueMs))),
        events_per_vm: 4,
        ratio_vs_floor: Number((rate / floorRate).toFixed(2)),
        goal_ratio: 1,
      });
    }
  } finally {
    await suite.dispose();
  }
}
