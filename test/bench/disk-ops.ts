import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DiskDto, VmDto, VolumeOperationDto } from '@ferry/contracts';
import { Suite } from '../support/suite';
import { median, withTimeout } from './load';
import { OperationEvents } from './operation-events';
import { bareQemu } from './vm-start';

const run = promisify(execFile);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
/** Attach + detach cycles per run and side. */
const CYCLES = Number(process.env['BENCH_DISK_CYCLES'] ?? 10);
/** Disk creates per run and side. */
const CREATES = Number(process.env['BENCH_DISK_CREATES'] ?? 20);
const OPERATION_TIMEOUT_MS = 30_000;
// QEMU limits node names to 31 characters.
const RAW_NODE = 'bench-raw';
const RAW_DEVICE = 'bench-raw-dev';

export type Json = Record<string, unknown>;

/** JSON over one keep-alive node:http connection (fetch costs more than what is measured here). */
export class Http {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(`${this.base}${path}`, { method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : text) as T }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like call(), but anything but `status` is an error. */
  async expect<T>(status: number, method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call<T>(method, path, body);
    if (res.status !== status)
      throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A QMP connection that keeps going: commands by id, and events for whoever waits on them. */
export class Qmp {
  private buffer = '';
  private nextId = 0;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly eventWaiters = new Set<(event: Json) => void>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
        const msg = JSON.parse(this.buffer.slice(0, end)) as Json;
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(msg);
      }
    });
    socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('QMP connection closed'));
      this.pending.clear();
    });
  }

  static async connect(path: string): Promise<Qmp> {
    const socket = createConnection(path);
    const greeted = new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', () => resolve());
    });
    const qmp = new Qmp(socket);
    await withTimeout(greeted, 5000, 'the QMP greeting');
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  private dispatch(msg: Json): void {
    if (typeof msg['event'] === 'string') {
      for (const waiter of this.eventWaiters) waiter(msg);
      return;
    }
    const id = msg['id'];
    if (typeof id !== 'string') return; // the greeting
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (msg['error']) p?.reject(new Error(`QMP: ${JSON.stringify(msg['error'])}`));
    else p?.resolve(msg['return']);
  }

  execute(command: string, args?: Json): Promise<unknown> {
    const id = `b${this.nextId++}`;
    const done = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.socket.write(JSON.stringify({ execute: command, arguments: args, id }) + '\n');
    return withTimeout(done, 5000, `QMP ${command}`);
  }

  /** Resolves on the next event `name` that `match` accepts; set up before the command that causes it. */
  event(name: string, match: (data: Json) => boolean): Promise<Json> {
    return withTimeout(
      new Promise<Json>((resolve) => {
        const waiter = (e: Json) => {
          if (e['event'] !== name || !match((e['data'] ?? {}) as Json)) return;
          this.eventWaiters.delete(waiter);
          resolve(e);
        };
        this.eventWaiters.add(waiter);
      }),
      5000,
      `QMP event ${name}`,
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resolves when operation `id` has completed; rejects when it failed or was cancelled. */
async function completed(ops: OperationEvents, id: string): Promise<void> {
  const { op } = await ops.waitFor(id, OPERATION_TIMEOUT_MS);
  if (op.status !== 'completed')
    throw new Error(`operation ${id} (${op.type}) ${op.status}: ${JSON.stringify(op.error)}`);
}

/** One attach + detach through the gateway, from the attach request to the detach's completion event. */
async function gatewayCycle(http: Http, ops: OperationEvents, diskId: string, vmId: string): Promise<number> {
  const t0 = performance.now();
  const attach = await http.expect<VolumeOperationDto>(202, 'POST', `/api/v1/disks/${diskId}/attach`, {
    vmId,
  });
  await completed(ops, attach.id);
  const detach = await http.expect<VolumeOperationDto>(202, 'POST', `/api/v1/disks/${diskId}/detach`, {});
  await completed(ops, detach.id);
  return performance.now() - t0;
}

// The commands repeat what vm-operator sends on purpose: the floor must not depend on the code it measures.
/**
 * The floor: the same hot-plug and unplug as raw QMP commands on a VM of the same options. Most of it
 * is QEMU's own wait between device_del and DEVICE_DELETED (about 50–60 ms here, KVM or TCG).
 */
async function rawCycle(qmp: Qmp, image: string): Promise<number> {
  const t0 = performance.now();
  await qmp.execute('blockdev-add', {
    driver: 'qcow2',
    'node-name': RAW_NODE,
    file: { driver: 'file', filename: image },
  });
  await qmp.execute('device_add', { driver: 'scsi-hd', bus: 'scsi0.0', drive: RAW_NODE, id: RAW_DEVICE });
  const deleted = qmp.event('DEVICE_DELETED', (d) => d['device'] === RAW_DEVICE);
  deleted.catch(() => undefined);
  await qmp.execute('device_del', { id: RAW_DEVICE });
  await deleted;
  await qmp.execute('blockdev-del', { 'node-name': RAW_NODE });
  return performance.now() - t0;
}

async function timed(op: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
}

export function ms(value: number): number {
  return Number(value.toFixed(2));
}

/**
 * Volumes through the gateway against their floors, in a suite of its own (vm-operator,
 * volume-daemon, gateway): an attach + detach cycle against raw QMP on a bare QEMU, and POST /disks
 * against a bare qemu-img create. Runs alternate between the two sides, as in bench.ts.
 */
export async function benchDiskOps(emit: (line: Record<string, unknown>) => void): Promise<void> {
  // Defaults of a real deployment, as in bench.ts.
  const suite = await Suite.start(['vm-operator', 'volume-daemon', 'gateway'], {
    RATE_LIMIT_PER_SECOND: '0',
    API_KEY_CACHE_TTL_MS: '30000',
  });
  const dir = mkdtempSync('/tmp/fb-');
  const http = new Http(suite.gatewayUrl, suite.adminKey);
  let ops: OperationEvents | undefined;
  let qmp: Qmp | undefined;
  try {
    await http.expect(201, 'POST', '/api/v1/templates', { name: 'bench-disk', cpu_count: 1, ram_amount: 64 });
    const vm = await http.expect<VmDto>(201, 'POST', '/api/v1/vms', { template: 'bench-disk' });
    await http.expect(202, 'POST', `/api/v1/vms/${vm.id}/actions/start`);
    const running = await suite.waitForVmState(vm.id, 'running');
    const accel = running.accelerator ?? 'tcg';
    const disk = await http.expect<DiskDto>(201, 'POST', '/api/v1/disks', { name: 'bench-cycle', size: 1 });
    ops = await OperationEvents.open(
      `${suite.gatewayUrl}/api/v1/events?type=ferry.volume-daemon.operation.&subject=${disk.id}`,
      suite.adminKey,
    );

    const image = join(dir, 'raw.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1G']);
    const bare = await withTimeout(bareQemu(dir, accel), 30_000, 'the bare QEMU');
    qmp = await Qmp.connect(bare.qmp);

    // Warm-up, untimed: the first of each pays for JIT, first connections and cold caches.
    await gatewayCycle(http, ops, disk.id, vm.id);
    await rawCycle(qmp, image);
    const bareImage = (i: number) => join(dir, `create-${i}.qcow2`);
    // The command the local backend runs (which passes the size in bytes).
    const bareCreate = (i: number) => run('qemu-img', ['create', '-q', '-f', 'qcow2', bareImage(i), '1G']);
    const gatewayCreate = (name: string) =>
      http.expect<DiskDto>(201, 'POST', '/api/v1/disks', { name, size: 1 });
    await http.expect(204, 'DELETE', `/api/v1/disks/${(await gatewayCreate('bench-warm')).id}`);
    await bareCreate(-1);

    const gwCycles: number[] = [];
    const rawCycles: number[] = [];
    const gwCreates: number[] = [];
    const bareCreates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const gw: number[] = [];
      for (let i = 0; i < CYCLES; i++) gw.push(await gatewayCycle(http, ops, disk.id, vm.id));
      gwCycles.push(median(gw));
      const raw: number[] = [];
      for (let i = 0; i < CYCLES; i++) raw.push(await rawCycle(qmp, image));
      rawCycles.push(median(raw));

      const created: string[] = [];
      const gwc: number[] = [];
      for (let i = 0; i < CREATES; i++) {
        const t0 = performance.now();
        created.push((await gatewayCreate(`bench-${r}-${i}`)).id);
        gwc.push(performance.now() - t0);
      }
      gwCreates.push(median(gwc));
      for (const id of created) await http.expect(204, 'DELETE', `/api/v1/disks/${id}`);
      const bc: number[] = [];
      for (let i = 0; i < CREATES; i++) bc.push(await timed(() => bareCreate(i)));
      bareCreates.push(median(bc));
      for (let i = 0; i < CREATES; i++) rmSync(bareImage(i), { force: true });
    }

    const gwCycle = median(gwCycles);
    const rawCycleMs = median(rawCycles);
    emit({
      bench: 'disk_attach_detach_cycle',
      via: 'gateway',
      runs: RUNS,
      cycles: CYCLES,
      accelerator: accel,
      p50_ms: ms(gwCycle),
    });
    emit({
      bench: 'disk_attach_detach_cycle',
      via: 'raw_qmp',
      runs: RUNS,
      cycles: CYCLES,
      accelerator: accel,
      p50_ms: ms(rawCycleMs),
    });
    emit({
      goal: 'disk_attach_detach_gateway <= 2 x raw_qmp',
      ratio: Number((gwCycle / rawCycleMs).toFixed(2)),
      limit: 2,
      pass: gwCycle / rawCycleMs <= 2,
    });
    const gwCreate = median(gwCreates);
    const bareCreateMs = median(bareCreates);
    emit({ bench: 'disk_create', via: 'gateway', runs: RUNS, creates: CREATES, p50_ms: ms(gwCreate) });
    emit({
      bench: 'disk_create',
      via: 'bare_qemu_img',
      runs: RUNS,
      creates: CREATES,
      p50_ms: ms(bareCreateMs),
    });
    emit({
      goal: 'disk_create_gateway <= 2 x bare_qemu_img',
      ratio: Number((gwCreate / bareCreateMs).toFixed(2)),
      limit: 2,
      pass: gwCreate / bareCreateMs <= 2,
    });
  } finally {
    qmp?.close();
    ops?.close();
    http.close();
    // The bare QEMU daemonized outside the suite's runtime directory, so suite.dispose() would miss it.
    const pidFile = join(dir, 'qemu.pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
    await suite.dispose();
  }
}
