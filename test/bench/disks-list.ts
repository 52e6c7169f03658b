import { randomUUID } from 'node:crypto';
import { connect } from 'nats';
import { Client } from 'pg';
import { Suite } from '../support/suite';
import type { Got } from './load';
import { getter, percentiles, times } from './load';

const DISKS = Number(process.env['BENCH_DISKS_LIST_N'] ?? 10_000);
const LIMIT = 100;
/** Times each page is read in the timed rounds. */
const ROUNDS = Number(process.env['BENCH_DISKS_LIST_ROUNDS'] ?? 5);
const GIB = 1024 ** 3;

/**
 * Issue 18's paged `GET /disks`: 10,000 disk rows seeded into `volume.disks` (available, local, with
 * the path volume-daemon would give them; ten share each created_at, so the id breaks ties), walked
 * once through `Link: rel="next"` (every disk exactly once, or the bench fails), then every page read
 * `ROUNDS` times: `disks_list_paged`, against `GET /health/live` and the page's own SQL on Postgres
 * (the floors), with `volume-daemon.disk.list` asked straight over NATS to show where the rest goes.
 */
export async function benchDisksList(emit: (line: Record<string, unknown>) => void): Promise<void> {
  const suite = await Suite.start(['volume-daemon', 'gateway'], { RATE_LIMIT_PER_SECOND: '0' });
  const pg = new Client({ connectionString: suite.db.url });
  await pg.connect();
  try {
    const ids = Array.from({ length: DISKS }, () => randomUUID());
    await pg.query(
      `INSERT INTO volume.disks (id, name, size_bytes, format, state, backend, ref, path, created_at, updated_at)
       SELECT id, 'bench-list-' || n, $2, 'qcow2', 'available', 'local', $3 || '/' || id || '.qcow2',
              $3 || '/' || id || '.qcow2', t0 + ((n / 10) || ' ms')::interval, t0
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n), (SELECT now() - interval '1 day' AS t0) s`,
      [ids, GIB, suite.diskDir],
    );
    await pg.query('ANALYZE volume.disks');
    const get = getter(suite.gatewayUrl, suite.adminKey);

    // The walk: every page once, following Link, collecting each page's path for the timed rounds.
    const pages: string[] = [];
    const seen = new Set<string>();
    const walkStart = performance.now();
    for (let path: string | undefined = `/api/v1/disks?limit=${LIMIT}`; path;) {
      const res: Got = await get(path);
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body}`);
      for (const d of JSON.parse(res.body) as { id: string }[]) {
        if (seen.has(d.id)) throw new Error(`disk ${d.id} listed twice`);
        seen.add(d.id);
      }
      pages.push(path);
      path = res.link ? /^<([^>]+)>/.exec(res.link)?.[1] : undefined;
    }
    const walkMs = Math.round(performance.now() - walkStart);
    if (seen.size !== DISKS) throw new Error(`the walk listed ${seen.size} of ${DISKS} disks`);

    const cursors = pages.map((p) => new URL(p, 'http://x').searchParams.get('cursor'));
    const sql = `SELECT *, to_json(created_at) #>> '{}' AS page_at FROM volume.disks
      WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid))
      ORDER BY created_at, id LIMIT $3`;
    const keys = cursors.map((c) =>
      c ? (JSON.parse(Buffer.from(c, 'base64url').toString()) as string[]) : [null, null],
    );
    const page = async (p: string) => {
      const res = await get(p);
      if (res.status !== 200) throw new Error(`GET ${p} answered ${res.status}`);
    };
    // The service's own reply, without the gateway: volume-daemon.disk.list straight over NATS.
    const nc = await connect({ servers: suite.nats.url });
    const viaNats = async (cursor: string | null) => {
      const body = JSON.stringify(cursor ? { limit: LIMIT, cursor } : { limit: LIMIT });
      const reply = (await nc.request('volume-daemon.disk.list', body, { timeout: 5000 })).json<{
        error?: unknown;
      }>();
      if (reply.error) throw new Error(`volume-daemon.disk.list: ${JSON.stringify(reply.error)}`);
    };
    const health: bigint[] = [];
    const direct: bigint[] = [];
    const nats: bigint[] = [];
    const paged: bigint[] = [];
    // Rounds alternate the floors and the pages, so drift in the machine touches all alike.
    for (let r = 0; r < ROUNDS; r++) {
      health.push(...(await times(pages, () => get('/api/v1/health/live'))));
      direct.push(...(await times(keys, (k) => pg.query(sql, [k[0], k[1], LIMIT + 1]))));
      nats.push(...(await times(cursors, viaNats)));
      paged.push(...(await times(pages, page)));
    }
    await nc.close();
    const h = percentiles(health);
    const n = percentiles(nats);
    const d = percentiles(direct);
    const g = percentiles(paged);
    emit({
      bench: 'disks_list_paged',
      disks: DISKS,
      limit: LIMIT,
      pages: pages.length,
      walk_ms: walkMs,
      n: g.n,
      p50_us: g.p50_us,
      p90_us: g.p90_us,
      p99_us: g.p99_us,
      health_live_p50_us: h.p50_us,
      health_live_p90_us: h.p90_us,
      pg_page_query_p50_us: d.p50_us,
      pg_page_query_p90_us: d.p90_us,
      nats_disk_list_p50_us: n.p50_us,
      nats_disk_list_p90_us: n.p90_us,
      ratio_vs_health_live: Number((g.p50_us / h.p50_us).toFixed(2)),
      ratio_vs_pg_query: Number((g.p50_us / d.p50_us).toFixed(2)),
    });
  } finally {
    await pg.end();
    await suite.dispose();
  }
}
