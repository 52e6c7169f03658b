import { Agent, request } from 'node:http';
import type { HostDto, PlacementResultDto } from '@ferry/contracts';
import { SERVICE_NAMES } from '@ferry/contracts';
import { eventually } from '@ferry/testing';
import { Suite } from '../support/suite';
import { median, sequential } from './load';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
/** Hosts registered in all: the local one and the rest on libvirt's test:///default. */
const HOSTS = Number(process.env['BENCH_PLACEMENT_HOSTS'] ?? 1000);
const N = Number(process.env['BENCH_PLACEMENT_N'] ?? 1000);
/** The bar: placement's p50 at most twice GET /api/v1/health's. */
const GOAL_RATIO = 2;
const BODY = JSON.stringify({ resources: { VCPU: 2, DISK_GB: 10 }, required: ['HW_NUMA_ROOT'] });

/** One keep-alive request; rejects unless the status is `expect`. */
function caller(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  expect: number,
) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { method, agent, headers }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === expect ? resolve() : reject(new Error(`${method} ${url}: ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  return { call, close: () => agent.destroy() };
}

/**
 * Placement over HOSTS registered hosts (discovered for real: one local, the rest through virsh on
 * test:///default) through the gateway, against GET /api/v1/health of the same suite, one request at a
 * time; and the wall time of one local discovery.
 */
export async function benchPlacement(emit: (line: Record<string, unknown>) => void): Promise<void> {
  const suite = await Suite.start(
    [...SERVICE_NAMES].filter((s) => s !== 'host-capability'),
    {
      RATE_LIMIT_PER_SECOND: '0',
      API_KEY_CACHE_TTL_MS: '30000',
    },
  );
  try {
    await suite.startService('host-capability', {
      HOST_CAPABILITY_DISCOVERY_CONCURRENCY: '16',
      VOLUME_STORAGE_DIR: suite.diskDir,
    });
    const started = Date.now();
    for (let i = 1; i < HOSTS; i++) {
      const res = await suite.request('POST', '/api/v1/hosts', {
        body: { name: `bench-${i}`, uri: 'test:///default' },
      });
      if (res.status !== 201)
        throw new Error(`registering host ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const hosts = await eventually(
      async () => {
        const all = (await suite.request<HostDto[]>('GET', '/api/v1/hosts')).body;
        return all.length === HOSTS && all.every((h) => h.status === 'ready') ? all : undefined;
      },
      600_000,
      `${HOSTS} hosts discovered`,
    );
    emit({ bench: 'placement_setup', hosts: hosts.length, register_and_discover_ms: Date.now() - started });

    const json = { 'content-type': 'application/json', authorization: `Bearer ${suite.adminKey}` };
    const check = await suite.request<PlacementResultDto>('POST', '/api/v1/placement/candidates', {
      rawBody: BODY,
      headers: { 'content-type': 'application/json' },
    });
    if (check.status !== 200 || check.body.candidates.length === 0)
      throw new Error(`placement answered ${check.status}`);
    const place = caller(`${suite.gatewayUrl}/api/v1/placement/candidates`, 'POST', json, BODY, 200);
    const health = caller(`${suite.gatewayUrl}/api/v1/health`, 'GET', {}, undefined, 200);
    const p: { p50: number[]; p99: number[] } = { p50: [], p99: [] };
    const h: { p50: number[]; p99: number[] } = { p50: [], p99: [] };
    for (let run = 0; run < RUNS; run++) {
      const hr = await sequential(N, health.call);
      const pr = await sequential(N, place.call);
      h.p50.push(hr.p50_us);
      h.p99.push(hr.p99_us);
      p.p50.push(pr.p50_us);
      p.p99.push(pr.p99_us);
    }
    place.close();
    health.close();
    const ratio = median(p.p50) / median(h.p50);
    emit({
      bench: 'placement_candidates',
      hosts: hosts.length,
      candidates: check.body.candidates.length,
      runs: RUNS,
      n: N,
      p50_us: median(p.p50),
      p99_us: median(p.p99),
      health_p50_us: median(h.p50),
      health_p99_us: median(h.p99),
      p50_ratio_vs_health: Math.round(ratio * 100) / 100,
      p99_ratio_vs_health: Math.round((median(p.p99) / median(h.p99)) * 100) / 100,
      goal_ratio: GOAL_RATIO,
      meets_goal: ratio <= GOAL_RATIO,
    });
    emit(await localDiscovery(suite));
  } finally {
    await suite.dispose();
  }
}

/**
 * Wall time of one discovery of the local host as a user sees it: from POST .../refresh until the host
 * shows the new discovery (polled every 2 ms), so it includes recording it and two NATS round trips.
 */
async function localDiscovery(suite: Suite): Promise<Record<string, unknown>> {
  const local = (await suite.request<HostDto[]>('GET', '/api/v1/hosts')).body.find((h) => h.local);
  if (!local) throw new Error('no local host');
  const walls: number[] = [];
  for (let run = 0; run < Math.max(RUNS, 5); run++) {
    const before = (await suite.request<HostDto>('GET', `/api/v1/hosts/${local.id}`)).body.last_discovered_at;
    const t0 = process.hrtime.bigint();
    const res = await suite.request<{ started: boolean }>(
      'POST',
      `/api/v1/hosts/${local.id}/capabilities/refresh`,
    );
    if (!res.body.started) throw new Error('a refresh of the local host was already running');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const h = (await suite.request<HostDto>('GET', `/api/v1/hosts/${local.id}`)).body;
      if (!h.refreshing && h.last_discovered_at !== before) break;
      if (Date.now() > deadline) throw new Error('the local discovery did not finish within 60 s');
      await new Promise((r) => setTimeout(r, 2));
    }
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return {
    bench: 'local_discovery',
    runs: walls.length,
    median_ms: Math.round(median(walls)),
    max_ms: Math.round(Math.max(...walls)),
  };
}
