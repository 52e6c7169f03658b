import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DiskDto, FailoverJobDto, FailoverJobStatus, VmDto } from '@ferry/contracts';
import { randomName } from '@ferry/testing';
import { Suite } from '../support/suite';
import { Http, Qmp, ms } from './disk-ops';
import type { Json } from './disk-ops';
import { median, withTimeout } from './load';
import { bareQemu } from './vm-start';

const run = promisify(execFile);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
/** Volumes of the migrated VM, as in the seed's example. */
const VOLUMES = 3;
/** The seed's bar (002): "cleanup completes within 2 minutes". */
const SEED_BAR_MS = 120_000;
const POLL_MS = 20;
const JOB_TIMEOUT_MS = 180_000;
const OPERATION_TIMEOUT_MS = 40_000;
const FAILED: FailoverJobStatus[] = ['failed', 'cleanup_failed'];

/** Polls the job over the keep-alive connection until it is `status`; fails when it ends otherwise. */
async function waitJob(http: Http, id: string, status: FailoverJobStatus): Promise<FailoverJobDto> {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  for (;;) {
    const job = await http.expect<FailoverJobDto>(200, 'GET', `/api/v1/failover/jobs/${id}`);
    if (job.status === status) return job;
    if (FAILED.includes(job.status))
      throw new Error(`job ${id} is ${job.status}, not ${status}: ${JSON.stringify(job.error)}`);
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${JOB_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits (untimed) for a volume operation to complete. */
async function operationDone(http: Http, id: string): Promise<void> {
  const deadline = Date.now() + OPERATION_TIMEOUT_MS;
  for (;;) {
    const op = await http.expect<{ status: string; error: unknown }>(
      200,
      'GET',
      `/api/v1/volume-operations/${id}`,
    );
    if (op.status === 'completed') return;
    if (op.status === 'failed' || op.status === 'cancelled')
      throw new Error(`operation ${id} ${op.status}: ${JSON.stringify(op.error)}`);
    if (Date.now() > deadline) throw new Error(`operation ${id} still ${op.status}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Milliseconds per cleanup step, from the job's own timestamps (per-volume steps summed). */
function cleanupSteps(job: FailoverJobDto): Record<string, number> {
  const steps: Record<string, number> = {};
  for (const s of job.steps) {
    if (s.phase !== 'cleanup' || !s.started_at || !s.finished_at) continue;
    const took = Date.parse(s.finished_at) - Date.parse(s.started_at);
    steps[s.name] = (steps[s.name] ?? 0) + took;
  }
  return steps;
}

/**
 * One test failover of a fresh source VM with VOLUMES volumes on the appliance (untimed), then its
 * cleanup, timed from POST /failover/cleanup/{vm} to the poll that sees `cleanup_completed`. The
 * volumes are detached and deleted afterwards (untimed), so that every run finds the appliance alike.
 */
async function gatewayCleanup(
  http: Http,
  applianceId: string,
  template: string,
): Promise<{ wall: number; steps: Record<string, number> }> {
  const name = randomName('bench-src');
  const disks: DiskDto[] = [];
  for (let i = 0; i < VOLUMES; i++) {
    const disk = await http.expect<DiskDto>(201, 'POST', '/api/v1/disks', {
      name: `${name}-disk${i}`,
      size: 1,
    });
    const op = await http.expect<{ id: string }>(202, 'POST', `/api/v1/disks/${disk.id}/attach`, {
      vmId: applianceId,
    });
    await operationDone(http, op.id);
    disks.push(disk);
  }
  const job = await http.expect<FailoverJobDto>(202, 'POST', `/api/v1/failover/test/${name}`, { template });
  const active = await waitJob(http, job.id, 'test_active');
  const vm = await http.expect<VmDto>(200, 'GET', `/api/v1/vms/${active.test_vm_id}`);
  if (vm.state !== 'running') throw new Error(`the test VM is ${vm.state}, not running`);

  const t0 = performance.now();
  await http.expect(202, 'POST', `/api/v1/failover/cleanup/${name}`);
  const done = await waitJob(http, job.id, 'cleanup_completed');
  const wall = performance.now() - t0;

  for (const disk of disks) {
    const op = await http.expect<{ id: string }>(202, 'POST', `/api/v1/disks/${disk.id}/detach`, {});
    await operationDone(http, op.id);
    await http.expect(204, 'DELETE', `/api/v1/disks/${disk.id}`);
  }
  return { wall, steps: cleanupSteps(done) };
}

// The floor repeats what vm-operator and volume-daemon do on purpose: it must not depend on the code it measures.
/** Whether `pid` is gone (or a zombie: a daemonized QEMU is nobody's child here, and may not be reaped). */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

async function waitExited(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!exited(pid)) {
    if (Date.now() > deadline) throw new Error(`QEMU ${pid} did not exit`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Kills a bare QEMU of this bench that still runs (checked by its command line: pids get reused). */
function kill(pid: number, base: string): void {
  try {
    if (exited(pid) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(base)) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

const testNode = (i: number) => `fct-node${i}`;
const testDevice = (i: number) => `fct-dev${i}`;
const applianceNode = (i: number) => `fca-node${i}`;
const applianceDevice = (i: number) => `fca-dev${i}`;

async function plug(qmp: Qmp, node: string, device: string, image: string): Promise<void> {
  await qmp.execute('blockdev-add', {
    driver: 'qcow2',
    'node-name': node,
    'read-only': false,
    file: { driver: 'file', filename: image, 'read-only': false },
  });
  await qmp.execute('device_add', { driver: 'scsi-hd', bus: 'scsi0.0', drive: node, id: device });
}

async function unplug(qmp: Qmp, node: string, device: string): Promise<void> {
  const deleted = qmp.event('DEVICE_DELETED', (d) => d['device'] === device);
  deleted.catch(() => undefined);
  await qmp.execute('device_del', { id: device });
  await deleted;
  await qmp.execute('blockdev-del', { 'node-name': node });
}

/**
 * The floor, for one run: a bare test QEMU (started and given the images untimed), then timed: QMP
 * `quit` and the wait for its process to be gone; on the bare appliance, blockdev-add + device_add
 * of each image and one query-block that finds them all; `rm -rf` of the test QEMU's directory.
 * The images are unplugged from the appliance afterwards (untimed).
 */
async function rawCleanup(
  base: string,
  r: number,
  accel: string,
  appliance: Qmp,
  images: string[],
  started: number[],
): Promise<{ raw: number; steps: Record<string, number> }> {
  const dir = join(base, `test-${r}`);
  mkdirSync(dir);
  const bare = await withTimeout(bareQemu(dir, accel), 30_000, 'the bare test QEMU');
  started.push(bare.pid);
  const test = await Qmp.connect(bare.qmp);
  try {
    for (let i = 0; i < images.length; i++) await plug(test, testNode(i), testDevice(i), images[i]!);
  } catch (err) {
    test.close();
    throw err;
  }

  const t0 = performance.now();
  // QEMU may close the socket before it answers quit; the process being gone is what counts.
  await test.execute('quit').catch(() => undefined);
  await waitExited(bare.pid);
  const t1 = performance.now();
  for (let i = 0; i < images.length; i++)
    await plug(appliance, applianceNode(i), applianceDevice(i), images[i]!);
  const t2 = performance.now();
  const blocks = (await appliance.execute('query-block')) as { qdev?: string; inserted?: Json }[];
  const t3 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const t4 = performance.now();
  test.close();

  for (let i = 0; i < images.length; i++) {
    const found = blocks.some(
      (b) =>
        b.inserted?.['node-name'] === applianceNode(i) &&
        (b.qdev ?? '').split('/').includes(applianceDevice(i)),
    );
    if (!found) throw new Error(`query-block on the bare appliance misses ${applianceDevice(i)}`);
  }
  for (let i = 0; i < images.length; i++) await unplug(appliance, applianceNode(i), applianceDevice(i));
  return {
    raw: t4 - t0,
    steps: { quit: ms(t1 - t0), attach: ms(t2 - t1), query_block: ms(t3 - t2), rm: ms(t4 - t3) },
  };
}

/**
 * Seed 002's cleanup of a running test VM with VOLUMES volumes, through the gateway (vm-operator,
 * volume-daemon, cleanup), against the raw QMP and file steps it comes down to, on bare QEMUs in the
 * same run. Runs alternate between the two sides, as in bench.ts; one untimed warm-up of each first.
 */
export async function benchFailoverCleanup(emit: (line: Record<string, unknown>) => void): Promise<void> {
  // Defaults of a real deployment, as in bench.ts.
  const suite = await Suite.start(['vm-operator', 'volume-daemon', 'cleanup', 'gateway'], {
    RATE_LIMIT_PER_SECOND: '0',
    API_KEY_CACHE_TTL_MS: '30000',
  });
  const base = mkdtempSync('/tmp/fb-');
  const http = new Http(suite.gatewayUrl, suite.adminKey);
  const started: number[] = [];
  let appliance: Qmp | undefined;
  try {
    const template = 'bench-failover';
    await http.expect(201, 'POST', '/api/v1/templates', { name: template, cpu_count: 1, ram_amount: 64 });
    const created = await suite.createVm(template, 'running', Suite.APPLIANCE);
    const applianceVm = await suite.waitForVmState(created.id, 'running');
    const accel = applianceVm.accelerator ?? 'tcg';

    const images: string[] = [];
    mkdirSync(join(base, 'images'));
    for (let i = 0; i < VOLUMES; i++) {
      const image = join(base, 'images', `vol${i}.qcow2`);
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1G']);
      images.push(image);
    }
    const applianceDir = join(base, 'appliance');
    mkdirSync(applianceDir);
    const bareAppliance = await withTimeout(bareQemu(applianceDir, accel), 30_000, 'the bare appliance');
    started.push(bareAppliance.pid);
    appliance = await Qmp.connect(bareAppliance.qmp);

    // Warm-up, untimed: the first of each pays for JIT, first connections and cold caches.
    await gatewayCleanup(http, applianceVm.id, template);
    await rawCleanup(base, -1, accel, appliance, images, started);

    const walls: number[] = [];
    const raws: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const gw = await gatewayCleanup(http, applianceVm.id, template);
      const raw = await rawCleanup(base, r, accel, appliance, images, started);
      walls.push(gw.wall);
      raws.push(raw.raw);
      emit({
        bench: 'failover_cleanup',
        run: r + 1,
        volumes: VOLUMES,
        accelerator: accel,
        cleanup_wall_ms: ms(gw.wall),
        raw_ms: ms(raw.raw),
        ratio: Number((gw.wall / raw.raw).toFixed(2)),
        within_seed_bar: gw.wall < SEED_BAR_MS,
        cleanup_steps_ms: gw.steps,
        raw_steps_ms: raw.steps,
      });
    }

    const wall = median(walls);
    const raw = median(raws);
    emit({
      bench: 'failover_cleanup',
      runs: RUNS,
      volumes: VOLUMES,
      accelerator: accel,
      cleanup_wall_ms: ms(wall),
      raw_ms: ms(raw),
      ratio: Number((wall / raw).toFixed(2)),
      within_seed_bar: wall < SEED_BAR_MS,
      max_cleanup_wall_ms: ms(Math.max(...walls)),
    });
    emit({
      goal: 'failover_cleanup_wall < 120000 ms (seed 002: cleanup completes within 2 minutes)',
      p50_ms: ms(wall),
      max_ms: ms(Math.max(...walls)),
      limit: SEED_BAR_MS,
      pass: Math.max(...walls) < SEED_BAR_MS,
    });
  } finally {
    appliance?.close();
    http.close();
    // The bare QEMUs daemonized outside the suite's runtime directory, so suite.dispose() would miss them.
    for (const pid of started) kill(pid, base);
    if (existsSync(base)) rmSync(base, { recursive: true, force: true });
    await suite.dispose();
  }
}
