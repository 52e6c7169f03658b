/**
 * `npm run bench`: the gateway path GET /api/v1/templates/{name} against its floors, measured in the
 * same run on the same machine, printed as JSON lines. Compare the ratios, not the absolute numbers.
 */
import { Agent } from 'node:http';
import { join } from 'node:path';
import { connect } from 'nats';
import { Client } from 'pg';
import { freePort } from '@ferry/testing';
import { ManagedProcess } from '@ferry/testing';
import { spawn } from 'node:child_process';
import { Suite } from '../support/suite';
import { closedLoop, httpGetter, median, sequential } from './load';
import { benchDiskOps } from './disk-ops';
import { benchFailoverCleanup } from './failover-cleanup';
import { benchObserverSweep } from './observer-sweep';
import { benchDisksList } from './disks-list';
import { benchPlacement } from './placement';
import { benchInspectorDrain } from './inspector-drain';
import { benchImportVsphere } from './import-vsphere';
import { benchImportWays } from './import-ways';
import { benchMigration } from './migration';
import { benchVmStart } from './vm-start';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const SEQUENTIAL_N = Number(process.env['BENCH_SEQUENTIAL_N'] ?? 3000);
const CONCURRENCY = 64;
/** The parts of the bench, each with a suite of its own; BENCH_ONLY (comma-separated) runs some of them. */
const PARTS = [
  'gateway',
  'disk_ops',
  'failover_cleanup',
  'observer_sweep',
  'placement',
  'inspector_drain',
  'import_vsphere_disk',
  'import_ways',
  'migration',
  'disks_list_paged',
] as const;
type Part = (typeof PARTS)[number];
const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((p) => p.trim())
  .filter(Boolean);

function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

type LoadResult = Awaited<ReturnType<typeof closedLoop>>;

async function startHelper(file: string, env: NodeJS.ProcessEnv): Promise<ManagedProcess> {
  const child = spawn(process.execPath, [join(__dirname, file)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new ManagedProcess(`${file} ${env['MODE'] ?? ''}`, child);
  await proc.waitFor(/"msg":"ready"/);
  return proc;
}

/** Prints the medians of loaded runs as one line and returns the median req/s. */
function emitLoaded(bench: string, runs: LoadResult[]): number {
  const rps = median(runs.map((r) => r.rps));
  emit({
    bench,
    concurrency: CONCURRENCY,
    runs: runs.length,
    rps,
    p50_us: median(runs.map((r) => r.p50_us)),
    p99_us: median(runs.map((r) => r.p99_us)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  });
  return rps;
}

/** The gateway against its floors, and VM start (issue 3), in one suite. */
async function benchGateway(): Promise<void> {
  // Defaults of a real deployment, except that rate limiting would throttle the load generator.
  const suite = await Suite.start(['vm-operator', 'gateway'], {
    RATE_LIMIT_PER_SECOND: '0',
    API_KEY_CACHE_TTL_MS: '30000',
  });
  const helpers: ManagedProcess[] = [];
  try {
    const name = 'bench-template';
    const created = await suite.request('POST', '/api/v1/templates', {
      body: { name, cpu_count: 2, ram_amount: 2048 },
    });
    if (created.status !== 201) throw new Error(`could not create the template: ${created.status}`);

    // Floor 1: raw nats.js request/reply echo, through the suite's broker.
    const responder = await connect({ servers: suite.nats.url });
    const requester = await connect({ servers: suite.nats.url });
    responder.subscribe('bench.echo', { callback: (_e, m) => m.respond(m.data) });
    await responder.flush();
    const payload = new TextEncoder().encode(JSON.stringify({ name }));
    const nats = await sequential(SEQUENTIAL_N, () =>
      requester.request('bench.echo', payload, { timeout: 2000 }),
    );
    emit({ bench: 'nats_request_reply_echo', ...nats });
    await responder.close();
    await requester.close();

    // Floor 2: raw pg query by primary key.
    const pg = new Client({ connectionString: suite.db.url });
    await pg.connect();
    const sql = 'SELECT name, cpu_count, ram_amount, created_at FROM vm_operator.templates WHERE name = $1';
    const query = await sequential(SEQUENTIAL_N, () => pg.query(sql, [name]));
    emit({ bench: 'pg_query_by_primary_key', ...query });
    await pg.end();

    // Floor 3: bare node:http + pg doing the same query, in its own process.
    const barePort = await freePort();
    const bareUrl = `http://127.0.0.1:${barePort}/templates/${name}`;
    // Reference: the same chain as the gateway's with no framework (see raw-chain.ts).
    const rawPort = await freePort();
    const rawUrl = `http://127.0.0.1:${rawPort}/templates/${name}`;
    const env = { ...process.env, DATABASE_URL: suite.db.url, NATS_URL: suite.nats.url };
    helpers.push(
      await startHelper('bare-http-pg.js', { ...env, PORT: String(barePort) }),
      await startHelper('raw-chain.js', { ...env, MODE: 'responder' }),
      await startHelper('raw-chain.js', { ...env, MODE: 'proxy', PORT: String(rawPort) }),
    );
    const rawGet = httpGetter(rawUrl, {}, new Agent({ keepAlive: true, maxSockets: 1 }));
    const raw = await sequential(SEQUENTIAL_N, rawGet);
    emit({ bench: 'raw_chain_http_nats_pg', concurrency: 1, ...raw });
    // The gateway path: HTTP → auth → NATS → vm-operator → Postgres and back.
    const url = `${suite.gatewayUrl}/api/v1/templates/${name}`;
    const headers = { authorization: `Bearer ${suite.adminKey}` };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = httpGetter(url, headers, agent);
    const one = await sequential(SEQUENTIAL_N, async () => {
      const status = await get();
      if (status !== 200) throw new Error(`gateway answered ${status}`);
    });
    agent.destroy();
    emit({ bench: 'gateway_get_template', concurrency: 1, ...one });

    // Loaded runs alternate between the floor and the gateway, so that drift in the machine's speed
    // during the run touches both sides of the ratio alike.
    const bareRuns: LoadResult[] = [];
    const rawRuns: LoadResult[] = [];
    const gwRuns: LoadResult[] = [];
    for (let i = 0; i < RUNS; i++) {
      bareRuns.push(await closedLoop(bareUrl, {}, CONCURRENCY, SECONDS));
      rawRuns.push(await closedLoop(rawUrl, {}, CONCURRENCY, SECONDS));
      gwRuns.push(await closedLoop(url, headers, CONCURRENCY, SECONDS));
    }
    const bareRps = emitLoaded('bare_http_pg', bareRuns);
    const rawRps = emitLoaded('raw_chain_http_nats_pg', rawRuns);
    const gwRps = emitLoaded('gateway_get_template', gwRuns);

    const latencyRatio = one.p50_us / (nats.p50_us + query.p50_us);
    const throughputRatio = gwRps / bareRps;
    emit({
      goal: 'gateway_p50 <= 3 x (nats_p50 + pg_p50)',
      ratio: Number(latencyRatio.toFixed(2)),
      limit: 3,
      pass: latencyRatio <= 3,
    });
    // Not goals: how much of the gap is the architecture (raw chain) and how much is Ferry's code.
    emit({
      reference: 'raw_chain vs floors',
      p50_ratio: Number((raw.p50_us / (nats.p50_us + query.p50_us)).toFixed(2)),
      rps_ratio: Number((rawRps / bareRps).toFixed(2)),
    });
    emit({
      reference: 'gateway vs raw_chain',
      p50_ratio: Number((one.p50_us / raw.p50_us).toFixed(2)),
      rps_ratio: Number((gwRps / rawRps).toFixed(2)),
    });
    emit({
      goal: 'gateway_rps >= 0.5 x bare_http_pg_rps',
      ratio: Number(throughputRatio.toFixed(2)),
      limit: 0.5,
      pass: throughputRatio >= 0.5,
    });

    // VM start through the gateway against a bare QEMU start (issue 3).
    await benchVmStart(suite, emit);
  } finally {
    await Promise.all(helpers.map((h) => h.stop()));
    await suite.dispose();
  }
}

async function main(): Promise<void> {
  const unknown = ONLY.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length)
    throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
  const selected = (part: Part) => ONLY.length === 0 || ONLY.includes(part);
  if (selected('gateway')) await benchGateway();
  // The others run in suites of their own, each started after the one before is gone (with its VMs).
  // Disk attach/detach and create against raw QMP and qemu-img.
  if (selected('disk_ops')) await benchDiskOps(emit);
  // Seed 002's cleanup of a test failover against the raw QMP and file steps it comes down to.
  if (selected('failover_cleanup')) await benchFailoverCleanup(emit);
  // The observer's sweep over 1,000 VMs with 2,000 disks, then 10,000 with 20,000, a sample of them real, against its interval and CPU goal.
  if (selected('observer_sweep')) await benchObserverSweep(emit);
  // Seed 003's placement over 1,000 discovered hosts against GET /health, and one local discovery.
  if (selected('placement')) await benchPlacement(emit);
  if (selected('inspector_drain')) await benchInspectorDrain(emit);
  // A vSphere disk import (2 GiB from vcsim) against curl + qemu-img convert and nbdkit curl → qemu-img.
  if (selected('import_vsphere_disk')) await benchImportVsphere(emit);
  // One remote raw read into a qcow2 by each way there is (libs/qemu/README.md), against curl + convert.
  if (selected('import_ways')) await benchImportWays(emit);
  // Issue 17: plan and migrate of the tiny guest against its raw steps, and the cutover's downtime.
  if (selected('migration')) await benchMigration(emit);
  // Issue 18: GET /disks?limit=100 pages over 10,000 disks against /health/live and the page's SQL.
  if (selected('disks_list_paged')) await benchDisksList(emit);
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack}\n`);
  process.exit(1);
});
